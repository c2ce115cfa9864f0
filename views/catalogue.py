"""Every view ctop-ebpf offers, as data (``ctop-ebpf --list-views``)."""

from __future__ import annotations

from .spec import Column as C
from .spec import Drill, View

CONTAINER = C("container", "CONTAINER", 16, "container.name")

VIEWS: tuple[View, ...] = (
    View(
        id="containers", title="Containers", hotkey="1",
        description="One row per container, plus the host: processes, CPU, memory, syscalls and I/O.",
        source="procs", key=("container.id",),
        columns=(
            C("id", "ID", 12, "container.id"),
            C("name", "NAME", 20, "container.name"),
            C("image", "IMAGE", 20, "container.image"),
            C("runtime", "RUNTIME", 10, "container.runtime"),
            C("procs", "PROCS", 6, "proc.pid", agg="count", fmt="int", align="right"),
            C("threads", "THREADS", 7, "threads", agg="sum", fmt="int", align="right"),
            C("cpu_pct", "CPU%", 6, "cpu_pct", agg="sum", fmt="pct", align="right"),
            C("rss_bytes", "RSS", 9, "rss_bytes", agg="sum", fmt="bytes", align="right"),
            C("memory_bytes", "MEM", 9, "memory_bytes", agg="max", fmt="bytes", align="right"),
            C("syscalls", "SYSCALLS", 9, "syscalls", agg="sum", fmt="count", counter=True, align="right"),
            C("file_bytes", "FILE", 9, "file_bytes", agg="sum", fmt="bytes", counter=True, align="right"),
            C("net_bytes", "NET", 9, "net_bytes", agg="sum", fmt="bytes", counter=True, align="right"),
            C("pod", "POD", 20, "k8s.pod.name"),
            C("namespace", "NAMESPACE", 12, "container.namespace"),
        ),
        sort="cpu_pct", drilldown=Drill("processes", "container.id", "id"), enrich="containers",
        applies_to=("k8s.pod.name",),
    ),
    View(
        id="processes", title="Processes", hotkey="2",
        description="One row per process: CPU, memory, syscalls, file and network bytes.",
        source="procs", key=("proc.pid",),
        columns=(
            C("pid", "PID", 7, "proc.pid", fmt="int", align="right"),
            C("ppid", "PPID", 7, "proc.ppid", fmt="int", align="right"),
            C("name", "NAME", 15, "proc.name"),
            C("user", "USER", 8, "user.name"),
            C("container", "CONTAINER", 16, "container.name"),
            C("threads", "THR", 4, "threads", fmt="int", align="right"),
            C("cpu_pct", "CPU%", 6, "cpu_pct", fmt="pct", align="right"),
            C("rss_bytes", "RSS", 9, "rss_bytes", fmt="bytes", align="right"),
            C("syscalls", "SYSCALLS", 9, "syscalls", agg="sum", fmt="count", counter=True, align="right"),
            C("file_bytes", "FILE", 9, "file_bytes", agg="sum", fmt="bytes", counter=True, align="right"),
            C("net_bytes", "NET", 9, "net_bytes", agg="sum", fmt="bytes", counter=True, align="right"),
            C("cmdline", "COMMAND", 40, "proc.cmdline"),
        ),
        sort="cpu_pct", drilldown=Drill("files", "proc.pid", "pid"),
        applies_to=("container.id", "k8s.pod.name", "proc.pid", "fd.name", "evt.type", "evt.errname", "fd.sport"),
    ),
    View(
        id="threads", title="Threads",
        description="One row per thread: CPU and syscalls.",
        source="threads", key=("thread.tid",),
        columns=(
            C("tid", "TID", 7, "thread.tid", fmt="int", align="right"),
            C("pid", "PID", 7, "proc.pid", fmt="int", align="right"),
            C("name", "NAME", 15, "thread.name"),
            CONTAINER,
            C("cpu_pct", "CPU%", 6, "cpu_pct", fmt="pct", align="right"),
            C("syscalls", "SYSCALLS", 9, "syscalls", agg="sum", fmt="count", counter=True, align="right"),
            C("cmdline", "COMMAND", 40, "proc.cmdline"),
        ),
        sort="cpu_pct", drilldown=Drill("syscalls", "thread.tid", "tid"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name"),
    ),
    View(
        id="files", title="Files", hotkey="3",
        description="Files and directories opened, read or written, by path.",
        source="fds", key=("fd.name",), base_filter="fd.type in (file, directory)",
        columns=(
            C("name", "NAME", 48, "fd.name"),
            C("opens", "OPENS", 7, "opens", agg="sum", fmt="count", counter=True, align="right"),
            C("bytes_read", "READ", 9, "bytes_read", agg="sum", fmt="bytes", counter=True, align="right"),
            C("bytes_written", "WRITE", 9, "bytes_written", agg="sum", fmt="bytes", counter=True, align="right"),
            C("errors", "ERRORS", 7, "errors", agg="sum", fmt="count", counter=True, align="right"),
            C("procs", "PROCS", 5, "proc.pid", agg="count_distinct", fmt="int", align="right"),
            C("container", "CONTAINER", 16, "container.name", agg="join_distinct"),
        ),
        sort="bytes_read", drilldown=Drill("processes", "fd.name", "name"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name", "fd.directory", "fd.type"),
    ),
    View(
        id="directories", title="Directories",
        description="File activity summed per directory.",
        source="fds", key=("fd.directory",), base_filter="fd.type in (file, directory)",
        columns=(
            C("directory", "DIRECTORY", 48, "fd.directory"),
            C("opens", "OPENS", 7, "opens", agg="sum", fmt="count", counter=True, align="right"),
            C("bytes_read", "READ", 9, "bytes_read", agg="sum", fmt="bytes", counter=True, align="right"),
            C("bytes_written", "WRITE", 9, "bytes_written", agg="sum", fmt="bytes", counter=True, align="right"),
            C("errors", "ERRORS", 7, "errors", agg="sum", fmt="count", counter=True, align="right"),
            C("files", "FILES", 6, "fd.name", agg="count_distinct", fmt="int", align="right"),
        ),
        sort="bytes_read", drilldown=Drill("files", "fd.directory", "directory"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name"),
    ),
    View(
        id="connections", title="Connections", hotkey="4",
        description="Network connections and sockets by tuple, with bytes each way.",
        source="fds", key=("fd.name", "proc.pid"), base_filter="fd.type in (ipv4, ipv6)",
        columns=(
            C("proto", "PROTO", 5, "fd.l4proto"),
            C("local", "LOCAL", 24, "local"),
            C("remote", "REMOTE", 24, "remote"),
            C("pid", "PID", 7, "proc.pid", fmt="int", align="right"),
            C("proc", "PROC", 15, "proc.name"),
            CONTAINER,
            C("bytes_sent", "SENT", 9, "bytes_written", agg="sum", fmt="bytes", counter=True, align="right"),
            C("bytes_received", "RECV", 9, "bytes_read", agg="sum", fmt="bytes", counter=True, align="right"),
            C("name", "TUPLE", 0, "fd.name"),
        ),
        sort="bytes_sent", drilldown=Drill("processes", "fd.name", "name"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name", "fd.sport"),
    ),
    View(
        id="ports", title="Server Ports",
        description="Server ports: listening sockets and the connections accepted on them.",
        source="fds", key=("fd.l4proto", "fd.sport"), base_filter="fd.sport exists",
        columns=(
            C("proto", "PROTO", 5, "fd.l4proto"),
            C("port", "PORT", 6, "fd.sport", fmt="int", align="right"),
            C("connections", "CONNS", 6, "fd.rip", agg="count", fmt="int", align="right"),
            C("bytes_in", "IN", 9, "bytes_read", agg="sum", fmt="bytes", counter=True, align="right"),
            C("bytes_out", "OUT", 9, "bytes_written", agg="sum", fmt="bytes", counter=True, align="right"),
            C("procs", "PROCS", 24, "proc.name", agg="join_distinct"),
            C("container", "CONTAINER", 16, "container.name", agg="join_distinct"),
        ),
        sort="connections", drilldown=Drill("connections", "fd.sport", "port"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name"),
    ),
    View(
        id="syscalls", title="System Calls", hotkey="5",
        description="System calls by name: calls, errors and time spent.",
        source="syscalls", key=("evt.type",),
        columns=(
            C("syscall", "SYSCALL", 20, "evt.type"),
            C("calls", "CALLS", 9, "calls", agg="sum", fmt="count", counter=True, align="right"),
            C("errors", "ERRORS", 7, "errors", agg="sum", fmt="count", counter=True, align="right"),
            C("total_ns", "TIME", 9, "total_ns", agg="sum", fmt="ns", counter=True, align="right"),
            C("avg_ns", "AVG", 9, "avg_ns", fmt="ns", align="right"),
            C("procs", "PROCS", 5, "proc.pid", agg="count_distinct", fmt="int", align="right"),
        ),
        sort="calls", drilldown=Drill("syscall_callers", "evt.type", "syscall"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name", "thread.tid"),
    ),
    View(
        id="syscall_callers", title="Syscall Callers",
        description="The processes making a system call, with that call's own counts and time.",
        source="syscalls", key=("proc.pid",),
        columns=(
            C("pid", "PID", 7, "proc.pid", fmt="int", align="right"),
            C("name", "NAME", 15, "proc.name"),
            CONTAINER,
            C("syscalls", "SYSCALL", 16, "evt.type", agg="join_distinct"),
            C("calls", "CALLS", 9, "calls", agg="sum", fmt="count", counter=True, align="right"),
            C("errors", "ERRORS", 7, "errors", agg="sum", fmt="count", counter=True, align="right"),
            C("total_ns", "TIME", 9, "total_ns", agg="sum", fmt="ns", counter=True, align="right"),
            C("avg_ns", "AVG", 9, "avg_ns", fmt="ns", align="right"),
            C("cmdline", "COMMAND", 40, "proc.cmdline"),
        ),
        sort="calls", drilldown=Drill("syscalls", "proc.pid", "pid"),
        applies_to=("evt.type",),
    ),
    View(
        id="errors", title="Errors", hotkey="6",
        description="Failed system calls by errno, with the syscalls that failed.",
        source="errnos", key=("evt.errname",),
        columns=(
            C("errname", "ERROR", 14, "evt.errname"),
            C("errno", "ERRNO", 5, "evt.errno", fmt="int", align="right"),
            C("count", "COUNT", 8, "count", agg="sum", fmt="count", counter=True, align="right"),
            C("syscalls", "SYSCALLS", 30, "evt.type", agg="join_distinct"),
            C("procs", "PROCS", 5, "proc.pid", agg="count_distinct", fmt="int", align="right"),
        ),
        sort="count", drilldown=Drill("error_callers", "evt.errname", "errname"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name"),
    ),
    View(
        id="error_callers", title="Error Callers",
        description="The processes getting an error, how often and from which system calls.",
        source="errnos", key=("proc.pid",),
        columns=(
            C("pid", "PID", 7, "proc.pid", fmt="int", align="right"),
            C("name", "NAME", 15, "proc.name"),
            CONTAINER,
            C("errname", "ERROR", 14, "evt.errname", agg="join_distinct"),
            C("count", "COUNT", 8, "count", agg="sum", fmt="count", counter=True, align="right"),
            C("syscalls", "SYSCALLS", 30, "evt.type", agg="join_distinct"),
            C("cmdline", "COMMAND", 40, "proc.cmdline"),
        ),
        sort="count", drilldown=Drill("errors", "proc.pid", "pid"),
        applies_to=("evt.errname",),
    ),
    View(
        id="pods", title="K8s Pods", hotkey="7",
        description="One row per Kubernetes pod: its containers, processes, CPU, memory, syscalls and I/O.",
        source="procs", key=("k8s.ns.name", "k8s.pod.name"), base_filter="k8s.pod.name exists",
        columns=(
            C("namespace", "NAMESPACE", 14, "k8s.ns.name"),
            C("pod", "POD", 28, "k8s.pod.name"),
            C("containers", "CONTAINERS", 10, "container.id", agg="count_distinct", fmt="int", align="right"),
            C("procs", "PROCS", 6, "proc.pid", agg="count", fmt="int", align="right"),
            C("threads", "THREADS", 7, "threads", agg="sum", fmt="int", align="right"),
            C("cpu_pct", "CPU%", 6, "cpu_pct", agg="sum", fmt="pct", align="right"),
            C("rss_bytes", "RSS", 9, "rss_bytes", agg="sum", fmt="bytes", align="right"),
            C("memory_bytes", "MEM", 9, "memory_bytes", agg="max", fmt="bytes", align="right"),
            C("syscalls", "SYSCALLS", 9, "syscalls", agg="sum", fmt="count", counter=True, align="right"),
            C("file_bytes", "FILE", 9, "file_bytes", agg="sum", fmt="bytes", counter=True, align="right"),
            C("net_bytes", "NET", 9, "net_bytes", agg="sum", fmt="bytes", counter=True, align="right"),
        ),
        sort="cpu_pct", enrich="pods",
        drilldown=Drill("containers", "k8s.pod.name", "pod", also=(("k8s.ns.name", "namespace"),)),
    ),
    View(
        id="io_types", title="I/O by Type",
        description="Bytes and operations by fd type (file, ipv4, unix, pipe, ...).",
        source="fds", key=("fd.type",),
        columns=(
            C("type", "TYPE", 10, "fd.type"),
            C("bytes_read", "READ", 9, "bytes_read", agg="sum", fmt="bytes", counter=True, align="right"),
            C("bytes_written", "WRITE", 9, "bytes_written", agg="sum", fmt="bytes", counter=True, align="right"),
            C("reads", "READS", 8, "reads", agg="sum", fmt="count", counter=True, align="right"),
            C("writes", "WRITES", 8, "writes", agg="sum", fmt="count", counter=True, align="right"),
            C("fds", "FDS", 6, "fd.name", agg="count", fmt="int", align="right"),
        ),
        sort="bytes_read", drilldown=Drill("files", "fd.type", "type"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name"),
    ),
    View(
        id="execs", title="Spy Execs",
        description="A time-ordered log of new processes with full command line, user, parent and container.",
        source="execs", key=(), log=True,
        columns=(
            C("time", "TIME", 12, "wall", fmt="time"),
            C("pid", "PID", 7, "proc.pid", fmt="int", align="right"),
            C("ppid", "PPID", 7, "proc.ppid", fmt="int", align="right"),
            C("parent", "PARENT", 15, "proc.pname"),
            C("user", "USER", 8, "user.name"),
            CONTAINER,
            C("cmdline", "COMMAND", 60, "proc.cmdline"),
        ),
        sort="time", sort_desc=False, drilldown=Drill("processes", "proc.pid", "pid"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name"),
    ),
    View(
        id="opens", title="File Opens",
        description="A time-ordered log of file opens with their result.",
        source="opens", key=(), log=True,
        columns=(
            C("time", "TIME", 12, "wall", fmt="time"),
            C("pid", "PID", 7, "proc.pid", fmt="int", align="right"),
            C("proc", "PROC", 15, "proc.name"),
            CONTAINER,
            C("syscall", "SYSCALL", 7, "syscall"),
            C("result", "RESULT", 8, "result_text"),
            C("count", "COUNT", 6, "count", fmt="int", align="right"),
            C("name", "NAME", 60, "fd.name"),
        ),
        sort="time", sort_desc=False, drilldown=Drill("processes", "fd.name", "name"),
        applies_to=("proc.pid", "container.id", "k8s.pod.name", "fd.name"),
    ),
)

VIEWS_BY_ID = {v.id: v for v in VIEWS}


def get_view(view_id: str) -> View:
    try:
        return VIEWS_BY_ID[view_id]
    except KeyError:
        raise KeyError(f"unknown view {view_id!r}; known views: {', '.join(VIEWS_BY_ID)}") from None


def views_for(drill_field: str | None) -> tuple[list[View], list[View]]:
    """The views the F2 picker offers first (their ``applies_to`` holds the
    field the user drilled on last), then the others; every view at the top."""
    if drill_field is None:
        return list(VIEWS), []
    first = [v for v in VIEWS if drill_field in v.applies_to]
    return first, [v for v in VIEWS if v not in first]


def format_view_list() -> str:
    width = max(len(v.id) for v in VIEWS)
    lines = []
    for v in VIEWS:
        key = f"[{v.hotkey}]" if v.hotkey else "   "
        lines.append(f"{v.id:<{width}}  {key}  {v.title}: {v.description}")
        lines.append(f"{'':<{width}}       columns: {', '.join(c.id for c in v.columns)}")
        if v.drilldown:
            drilled = ", ".join((v.drilldown.field, *(f for f, _ in v.drilldown.also)))
            lines.append(f"{'':<{width}}       Enter → {v.drilldown.target} ({drilled})")
    return "\n".join(lines)
