"""Numbers of the syscalls the BPF programs test by number (the I/O syscalls whose byte
counts go to fds; openat and close, handled without a tail call), per arch."""

import platform

IO_SYSCALLS = {
    "x86_64": {
        "read": 0, "write": 1, "pread64": 17, "pwrite64": 18, "readv": 19, "writev": 20,
        "sendfile": 40, "sendto": 44, "recvfrom": 45, "sendmsg": 46, "recvmsg": 47,
        "preadv": 295, "pwritev": 296, "preadv2": 327, "pwritev2": 328,
        "openat": 257, "close": 3,
    },
    "aarch64": {
        "read": 63, "write": 64, "readv": 65, "writev": 66, "pread64": 67, "pwrite64": 68,
        "preadv": 69, "pwritev": 70, "sendfile": 71, "sendto": 206, "recvfrom": 207,
        "sendmsg": 211, "recvmsg": 212, "preadv2": 286, "pwritev2": 287,
        "openat": 56, "close": 57,
    },
}


def io_defines(machine: str | None = None) -> list[str]:
    machine = machine or platform.machine()
    try:
        table = IO_SYSCALLS[machine]
    except KeyError:
        raise ValueError(f"unsupported architecture {machine!r}") from None
    return [f"-DNR_{name}={nr}" for name, nr in sorted(table.items())]


# Syscalls newer than bcc's built-in table; numbers >= 424 are shared by all arches.
NEWER_SYSCALLS = {
    424: "pidfd_send_signal", 425: "io_uring_setup", 426: "io_uring_enter",
    427: "io_uring_register", 428: "open_tree", 429: "move_mount", 430: "fsopen",
    431: "fsconfig", 432: "fsmount", 433: "fspick", 434: "pidfd_open", 435: "clone3",
    436: "close_range", 437: "openat2", 438: "pidfd_getfd", 439: "faccessat2",
    440: "process_madvise", 441: "epoll_pwait2", 442: "mount_setattr", 443: "quotactl_fd",
    444: "landlock_create_ruleset", 445: "landlock_add_rule", 446: "landlock_restrict_self",
    447: "memfd_secret", 448: "process_mrelease", 449: "futex_waitv",
    450: "set_mempolicy_home_node", 451: "cachestat", 452: "fchmodat2",
    453: "map_shadow_stack", 454: "futex_wake", 455: "futex_wait", 456: "futex_requeue",
    457: "statmount", 458: "listmount", 459: "lsm_get_self_attr", 460: "lsm_set_self_attr",
    461: "lsm_list_modules", 462: "mseal", 463: "setxattrat", 464: "getxattrat",
    465: "listxattrat", 466: "removexattrat", 467: "open_tree_attr",
}


def syscall_names() -> dict[int, str]:
    """nr -> name for the running architecture (bcc's table plus newer calls)."""
    names: dict[int, str] = {}
    try:
        from bcc.syscall import syscalls  # noqa: PLC0415

        names.update({nr: n.decode() for nr, n in syscalls.items()})
    except ImportError:
        pass
    for nr, n in NEWER_SYSCALLS.items():
        names.setdefault(nr, n)
    return names
