"""The catalogue of filter fields, named and typed as in sysdig/Falco.

A *record* handed to a filter is a plain mapping from these field names to
values (``str``, ``int``, ``bool``).  A field that does not apply to a record
is simply absent (or ``None``): see :mod:`ctop_ebpf.views.filter` for what comparisons
do then.

Each field has a ``type`` that decides how values compare: ``string``
(text), ``number`` and ``port`` (numerically), ``bool`` (``true``/``false``),
``ip`` (IPv4 or IPv6 address; a ``10.0.0.0/8`` style network matches every
address in it).

``ctop-ebpf --list-fields`` prints :func:`format_field_list`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: Fields named by a key after this prefix (``k8s.pod.label.app``, or ``k8s.pod.label[app]``).
POD_LABEL_PREFIX = "k8s.pod.label."

#: The value types a field can have.
FIELD_TYPES: tuple[str, ...] = ("string", "number", "bool", "ip", "port")


@dataclass(frozen=True, slots=True)
class Field:
    """One filterable field: its name, value type and one-line description.
    Which records carry it follows from its namespace (model/records.py
    RECORD_FIELDS)."""

    name: str
    type: str
    description: str

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}")


FIELDS: tuple[Field, ...] = (
    # container.* and k8s.*: the container the process runs in.
    Field("container.id", "string",
          "Container id (12-character short form); 'host' for processes outside containers"),
    Field("container.name", "string",
          "Container name; 'host' for processes outside containers"),
    Field("container.image", "string", "Image the container runs, e.g. nginx:1.25"),
    Field("container.runtime", "string",
          "Container runtime: docker, containerd, cri-o, podman, lxc, nspawn; 'host' outside"),
    Field("container.namespace", "string",
          "Namespace of the container: its pod's Kubernetes namespace, or the containerd "
          "namespace of a container made outside Kubernetes (ctr)"),
    Field("k8s.pod.name", "string", "Kubernetes pod name (absent outside pods)"),
    Field("k8s.ns.name", "string", "Kubernetes namespace of the pod (absent outside pods)"),
    Field("k8s.pod.uid", "string", "Kubernetes pod uid (absent outside pods)"),
    Field(POD_LABEL_PREFIX + "KEY", "string",
          "Value of the pod label KEY, e.g. k8s.pod.label.app; any key in sysdig's form "
          "k8s.pod.label[app.kubernetes.io/name]"),
    # proc.* and user.*: the process.
    Field("proc.pid", "number", "Process id (thread-group id) as seen from the host"),
    Field("proc.ppid", "number", "Parent process id"),
    Field("proc.name", "string", "Process name (comm, at most 15 characters)"),
    Field("proc.pname", "string", "Name of the parent process"),
    Field("proc.exe", "string", "Path of the executable (as given to execve or /proc/PID/exe)"),
    Field("proc.args", "string", "Command-line arguments after argv[0], joined with spaces"),
    Field("proc.cmdline", "string", "Full command line: argv joined with spaces"),
    Field("user.uid", "number", "User id the process runs as"),
    Field("user.name", "string", "User name of user.uid (host passwd; the uid if unknown)"),
    # thread.*
    Field("thread.tid", "number", "Thread id as seen from the host"),
    # fd.*: one file descriptor of the process.
    Field("fd.num", "number", "File descriptor number"),
    Field("fd.name", "string",
          "Full fd name: file path, socket tuple lip:lport->rip:rport, unix socket path, pipe"),
    Field("fd.type", "string",
          "fd type: file, directory, ipv4, ipv6, unix, pipe, event, signal, inotify, timer, "
          "memfd, other"),
    Field("fd.directory", "string", "Directory of a file fd (fd.name without its last part)"),
    Field("fd.filename", "string", "Last component of a file fd's path"),
    Field("fd.l4proto", "string", "Layer-4 protocol of an IP socket: tcp, udp, raw"),
    Field("fd.lip", "ip", "Local IP address of a socket"),
    Field("fd.lport", "port", "Local port of a socket"),
    Field("fd.rip", "ip", "Remote IP address of a socket"),
    Field("fd.rport", "port", "Remote port of a socket"),
    Field("fd.sport", "port",
          "Server port of a connection: the listening side's port (local when accepted or "
          "listening, remote when connected)"),
    # evt.*: the system call.
    Field("evt.type", "string", "System call name, e.g. openat, connect, execve"),
    Field("evt.failed", "bool", "true when the system call returned an error"),
    Field("evt.errno", "number", "Error number of a failed system call, e.g. 2"),
    Field("evt.errname", "string", "Error name of a failed system call, e.g. ENOENT"),
)

#: Every field by name (read-only).
FIELDS_BY_NAME: Mapping[str, Field] = MappingProxyType({f.name: f for f in FIELDS})

if len(FIELDS_BY_NAME) != len(FIELDS):  # pragma: no cover - catalogue sanity
    raise AssertionError("duplicate field names in the catalogue")


def canonical_name(name: str) -> str:
    """The record key a field name reads: sysdig's ``k8s.pod.label[KEY]`` is
    ``k8s.pod.label.KEY``; every other name is itself."""
    base = POD_LABEL_PREFIX[:-1]
    if name.startswith(base + "[") and name.endswith("]") and len(name) > len(base) + 2:
        return POD_LABEL_PREFIX + name[len(base) + 1:-1]
    return name


def field_named(name: str) -> Field | None:
    """The catalogue's field for a name (canonical or sysdig's ``field[KEY]`` form), or None.
    Any ``k8s.pod.label.KEY`` with a non-empty KEY is a string field."""
    name = canonical_name(name)
    got = FIELDS_BY_NAME.get(name)
    if got is None and name.startswith(POD_LABEL_PREFIX) and len(name) > len(POD_LABEL_PREFIX):
        got = Field(name, "string", f"Value of the pod label {name[len(POD_LABEL_PREFIX):]}")
    return got


def format_field_list() -> str:
    """Return the field table ``ctop-ebpf --list-fields`` prints.

    One line per field, columns aligned: name, type, description; a header
    line first.  The text ends with a newline.
    """
    name_w = max(len("FIELD"), *(len(f.name) for f in FIELDS))
    type_w = max(len("TYPE"), *(len(f.type) for f in FIELDS))
    lines = [f"{'FIELD':<{name_w}}  {'TYPE':<{type_w}}  DESCRIPTION"]
    lines += [f"{f.name:<{name_w}}  {f.type:<{type_w}}  {f.description}" for f in FIELDS]
    return "\n".join(lines) + "\n"


def suggest(name: str, limit: int = 3) -> list[str]:
    """Return up to ``limit`` known field names close to ``name``, best first.

    Used for "did you mean ...?" messages.  The same name in another letter
    case (``PROC.NAME``) is the only suggestion; otherwise fields whose name
    ends with ``name`` (``pid`` -> ``proc.pid``), shortest first, then
    difflib's closest matches (``proc.nmae`` -> ``proc.name``).  An exact
    known name returns itself.
    """
    if name in FIELDS_BY_NAME:
        return [name]
    if not name or limit <= 0:
        return []
    out: list[str] = []

    def add(candidate: str) -> None:
        if candidate not in out:
            out.append(candidate)

    low = name.lower()
    for f in FIELDS:
        if f.name.lower() == low:
            return [f.name]
    if "." not in low or low.startswith("."):
        suffix = low if low.startswith(".") else "." + low
        # shortest first: "name" suggests proc.name before container.name
        for candidate in sorted((f.name for f in FIELDS if f.name.lower().endswith(suffix)),
                                key=len):
            add(candidate)
    if len(low) <= 64:  # difflib is quadratic; nobody types a 64-char field name
        for candidate in difflib.get_close_matches(low, list(FIELDS_BY_NAME), n=limit,
                                                   cutoff=0.75):
            add(candidate)
    return out[:limit]


#: What the other values of the records mean (counters and texts that are not
#: filter fields); the F7 legend explains a view's columns from these and FIELDS.
VALUES: Mapping[str, str] = MappingProxyType({
    "calls": "System calls made",
    "errors": "Calls that failed (returned an error); for files, failed opens",
    "total_ns": "Time spent in the calls, from entry to return",
    "avg_ns": "Average time of one call (TIME / CALLS)",
    "count": "How many times it happened",
    "opens": "Opens (open, openat, openat2, creat), failed ones included",
    "bytes_read": "Bytes read or received",
    "bytes_written": "Bytes written or sent",
    "reads": "Read calls that moved data",
    "writes": "Write calls that moved data",
    "cpu_pct": "CPU used, in % of one CPU",
    "rss_bytes": "Resident memory of the processes",
    "memory_bytes": "Memory of the container's cgroup (page cache included)",
    "threads": "Threads",
    "syscalls": "System calls made",
    "file_bytes": "Bytes read and written on files",
    "net_bytes": "Bytes sent and received on network and unix sockets",
    "local": "Local address and port",
    "remote": "Remote address and port",
    "wall": "When it happened (wall clock)",
    "syscall": "The open system call used",
    "result_text": "The fd the call returned, or its error",
    "thread.name": "Thread name (comm)",
})
