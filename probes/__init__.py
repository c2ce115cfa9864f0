"""What observes the host: the kernel (BPF through bcc), /proc, cgroups and
container runtimes. Everything here produces the model's events.

bpf/          the BPF programs (C), compiled by bcc at start-up
loader.py     headers, tracefs, compile and attach (environment.py: what the host must have)
decode.py     perf-buffer bytes -> events
live.py       LiveSource: the probes, /proc and containers as one EventSource
procfs/       /proc readers (processes, sockets, samples, host line, users)
containers/   cgroup paths -> containers, runtime metadata
"""
