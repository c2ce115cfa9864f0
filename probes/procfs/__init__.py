"""The host as /proc shows it: processes, their fds and sockets, CPU and memory.

files.py      reading /proc files (one read, whole, stat fields, clock ticks)
processes.py  snapshots of processes, threads and fds (bootstrap, read_process)
sockets.py    /proc/net tables and one socket fd resolved (lookup_socket)
sampler.py    per-tick CPU/RSS samples, and which processes to read each tick
host.py       the host line of the TUI header (name, kernel, uptime, CPU, memory)
users.py      uid -> login name (this host's passwd)
"""

from .files import CLK_TCK, PAGE_SIZE, list_pids
from .processes import ResolveContainer, bootstrap, read_fds, read_process
from .sampler import ProcSampler, sample
from .sockets import SockInfo, lookup_socket, read_net_sockets
from .users import user_name

__all__ = [
    "CLK_TCK", "PAGE_SIZE", "ProcSampler", "ResolveContainer", "SockInfo", "bootstrap",
    "list_pids", "lookup_socket", "read_fds", "read_net_sockets", "read_process", "sample",
    "user_name",
]
