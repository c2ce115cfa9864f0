"""The metric families the agent serves: names, types, help and labels.

The one place these are defined: the accumulator (totals.py) fills them,
the agent's Prometheus glue (ctop_ebpf/agent.py) exposes them, the tests
and the README name them. Counter names are given without ``_total``: the
exposition adds it (``ctop_container_syscalls`` is scraped as
``ctop_container_syscalls_total``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Labels of every per-container series. ``container_id`` is the 12-character
# short id, or "host" for the processes in no container; the others are
# empty when unknown.
CONTAINER_LABELS = ("container_id", "container", "image", "runtime", "pod", "namespace")


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: str  # counter, gauge, histogram, info
    help: str
    labels: tuple[str, ...] = ()

    @property
    def sample_name(self) -> str:
        """The name a scraper sees (a counter's ``_total``, an info's ``_info``)."""
        return self.name + {"counter": "_total", "info": "_info"}.get(self.kind, "")


SYSCALLS = Family(
    "ctop_container_syscalls", "counter", "System calls made by the container's processes.", CONTAINER_LABELS
)
SYSCALL_ERRORS = Family(
    "ctop_container_syscall_errors",
    "counter",
    "System calls of the container's processes that returned an error.",
    CONTAINER_LABELS,
)
FILE_BYTES = Family(
    "ctop_container_file_bytes",
    "counter",
    "Bytes the container's processes read from or wrote to files.",
    CONTAINER_LABELS + ("direction",),
)
NET_BYTES = Family(
    "ctop_container_net_bytes",
    "counter",
    "Bytes the container's processes received from or sent to sockets (IP and unix).",
    CONTAINER_LABELS + ("direction",),
)
CPU_SECONDS = Family(
    "ctop_container_cpu_seconds",
    "counter",
    "CPU time used by the container (its cgroup; for the host and containers without "
    "a cgroup reading, the sum of its processes' CPU time as read from /proc).",
    CONTAINER_LABELS,
)
MEMORY_BYTES = Family(
    "ctop_container_memory_bytes",
    "gauge",
    "Memory of the container's cgroup (for the host and containers without a cgroup "
    "reading, the sum of its processes' RSS).",
    CONTAINER_LABELS,
)
PROCESSES = Family(
    "ctop_container_processes", "gauge", "Processes running in the container.", CONTAINER_LABELS
)

# only with --metrics-syscalls: one series per container and system call (or errno)
SYSCALL_CALLS = Family(
    "ctop_container_syscall_calls",
    "counter",
    "Calls of one system call by the container's processes.",
    CONTAINER_LABELS + ("syscall",),
)
SYSCALL_FAILED = Family(
    "ctop_container_syscall_failed_calls",
    "counter",
    "Calls of one system call by the container's processes that returned an error.",
    CONTAINER_LABELS + ("syscall",),
)
SYSCALL_SECONDS = Family(
    "ctop_container_syscall_seconds",
    "counter",
    "Time the container's processes spent in one system call.",
    CONTAINER_LABELS + ("syscall",),
)
SYSCALL_ERRNOS = Family(
    "ctop_container_syscall_errnos",
    "counter",
    "Failed calls of one system call by the container's processes, by error.",
    CONTAINER_LABELS + ("syscall", "errno"),
)

EVENTS = Family("ctop_events", "counter", "Events the probes delivered to the agent.")
EVENTS_LOST = Family(
    "ctop_events_lost",
    "counter",
    "Events lost between the kernel and the agent (full perf buffers or kernel maps): "
    "counts of those ticks are incomplete.",
)
TICK_SECONDS = Family(
    "ctop_agent_tick_duration_seconds",
    "histogram",
    "Time the agent took to fold one tick into its model and its metrics.",
)
BUILD = Family("ctop_build", "info", "The running ctop-ebpf.")

CONTAINER_FAMILIES = (SYSCALLS, SYSCALL_ERRORS, FILE_BYTES, NET_BYTES, CPU_SECONDS, MEMORY_BYTES, PROCESSES)
SYSCALL_FAMILIES = (SYSCALL_CALLS, SYSCALL_FAILED, SYSCALL_SECONDS, SYSCALL_ERRNOS)
AGENT_FAMILIES = (EVENTS, EVENTS_LOST, TICK_SECONDS, BUILD)
ALL_FAMILIES = CONTAINER_FAMILIES + SYSCALL_FAMILIES + AGENT_FAMILIES

TICK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
