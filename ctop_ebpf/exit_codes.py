"""The exit codes of ctop-ebpf, in one place (every layer may import this module).

0 done; 1 an unexpected failure; 2 bad usage or input (with a message);
3 missing privilege or kernel support (with the fix).
"""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNSUPPORTED = 3
