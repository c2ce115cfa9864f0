"""The kernel side of filters: which clause is pushed, and that the probes
then really skip everything else."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from ctop_ebpf.views.filter import parse
from ctop_ebpf.views.pushdown import KernelScope, kernel_scope


@pytest.mark.parametrize("text,scope", [
    ("container.name = web and fd.name startswith /etc", KernelScope(container_names=frozenset({"web"}))),
    ("fd.name startswith /etc and container.id in (abc, def)", KernelScope(container_ids=frozenset({"abc", "def"}))),
    ("proc.pid = 42", KernelScope(pids=frozenset({42}))),
    ("proc.pid in (1, 2) and proc.name = x", KernelScope(pids=frozenset({1, 2}))),
])
def test_a_conjunct_naming_containers_or_pids_is_pushed(text, scope):
    assert kernel_scope(parse(text)) == scope


@pytest.mark.parametrize("text", [
    "", "proc.name = nginx", "container.name = web or proc.pid = 1", "not container.name = web",
    "container.name = host", "container.name != web", "container.name startswith web",
])
def test_anything_else_watches_everything(text):
    assert kernel_scope(parse(text) if text else None) is None


@pytest.mark.kernel
@pytest.mark.usefixtures("kernel")
def test_pid_scope_skips_other_processes_in_the_kernel():
    from ctop_ebpf.model import events as ev
    from ctop_ebpf.probes.live import LiveSource

    # each waits for a line on stdin, so the probes are attached before it works
    loop = "import os, sys\nsys.stdin.readline()\nfor _ in range(20000): os.getppid()"
    watched = subprocess.Popen([sys.executable, "-c", loop], stdin=subprocess.PIPE)
    other = subprocess.Popen([sys.executable, "-c", loop], stdin=subprocess.PIPE)
    seen: set[int] = set()
    getppid: dict[int, int] = {}

    async def run():
        source = LiveSource(0.5, scope=KernelScope(pids=frozenset({watched.pid})))
        ticks = 0
        try:
            async for batch in source.events():
                for e in batch:
                    if type(e) is ev.Tick and not e.interval_s:
                        for p in (watched, other):
                            p.stdin.write(b"go\n")
                            p.stdin.flush()
                    if type(e) is ev.Tick and e.interval_s:
                        ticks += 1
                        for s in e.syscalls:
                            seen.add(s.pid)
                            if s.syscall == "getppid":
                                getppid[s.pid] = getppid.get(s.pid, 0) + s.calls
                if ticks >= 6:
                    return
        finally:
            await source.aclose()

    try:
        asyncio.run(run())
    finally:
        watched.kill()
        other.kill()
        watched.wait()
        other.wait()
    # (threads that made syscalls in the instant between attach and the scope
    # being set may still report them; the other workload started after)
    assert watched.pid in seen and other.pid not in seen
    assert getppid == {watched.pid: 20000}
