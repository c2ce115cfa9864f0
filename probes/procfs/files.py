"""Reading /proc files: in one read, whole, and the fields of a stat line.

Processes come and go while we read: any file may vanish between two reads
(``FileNotFoundError``, ``ProcessLookupError``), be unreadable
(``PermissionError``) or hold something unexpected. Callers skip what
vanished (``GONE``) and never raise on malformed content.
"""

from __future__ import annotations

import os

# Clock ticks per second (utime, stime, starttime) and the page size (statm).
CLK_TCK: int = os.sysconf("SC_CLK_TCK") or 100
PAGE_SIZE: int = os.sysconf("SC_PAGE_SIZE") or 4096
_NS_PER_TICK_NUM = 1_000_000_000

# Errors that mean "the process (or file) went away or is not ours to read".
GONE = (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError)


def read_once(path: str, size: int = 4096) -> bytes:
    """Read at most ``size`` bytes of a file in one ``read`` (open/read/close)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


def read_all(path: str, stop_below: int = 0) -> bytes:
    """Read a whole file, however long (proc seq files hand out a page at a
    time); with ``stop_below``, a read shorter than that ends it (see
    sockets.read_table)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            if len(chunk) < stop_below:
                break
        return b"".join(chunks)
    finally:
        os.close(fd)


def list_pids(proc_root: str = "/proc") -> list[int]:
    """The pids of all processes: the numeric directories of ``proc_root``."""
    try:
        names = os.listdir(proc_root)
    except OSError:
        return []
    return sorted(int(name) for name in names if name.isdigit())


def split_stat(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """Split a /proc/PID/stat line into ``(comm, fields after comm)``.

    comm may contain spaces and parentheses, so it runs from the first
    ``(`` to the *last* ``)``. The returned list starts at field 3 (state):
    ``fields[n - 3]`` is field ``n`` of proc(5).
    """
    left = data.find(b"(")
    right = data.rfind(b")")
    if left < 0 or right < left:
        return None
    return data[left + 1 : right], data[right + 2 :].split()


# Indices into the list returned by split_stat (proc(5) field number - 3).
F_PPID = 1
F_UTIME = 11
F_STIME = 12
F_NUM_THREADS = 17
F_STARTTIME = 19
F_RSS = 21


def ticks_to_ns(ticks: int) -> int:
    return ticks * _NS_PER_TICK_NUM // CLK_TCK
