"""ctop-ebpf: a container-aware system-call explorer on eBPF."""

__version__ = "0.1.0"
