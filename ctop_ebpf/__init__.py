"""ctop-ebpf: a container-aware system-call explorer on eBPF.

The package's parts live in the folders at the top of the checkout
(probes/, model/, capture/, views/, tui/), installed as its subpackages;
this folder holds the command line that composes them (cli.py, session.py,
batch.py, interactive.py, recording.py).
"""

__version__ = "0.1.0"
