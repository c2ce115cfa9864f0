"""Actions on the selected row: signal a process, stop or restart a container.

``actions_for(view, row)`` lists what applies to a row; ``ActionRunner``
carries one out, never through a shell: ``os.kill`` with the row's pid, the
Docker SDK with the row's container id. Every action is confirmed by the
user first (the TUI's confirmation dialog) and ``--readonly`` disables them.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from ctop_ebpf.views.safe_text import printable
from ctop_ebpf.views.spec import View

SIGNALS = ("TERM", "KILL", "INT", "HUP", "STOP", "CONT")
CONTAINER_OPS = ("stop", "restart")
DOCKER_TIMEOUT_S = 15  # seconds docker waits after SIGTERM before SIGKILL


class ActionError(Exception):
    """An action that could not be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # "signal" or "container"
    op: str  # TERM, KILL, ... or stop, restart
    target: int | str  # pid, or container id
    label: str  # the target as the user sees it: "pid 1234 (nginx)", "container web"

    @property
    def title(self) -> str:
        if self.kind == "signal":
            return f"Send SIG{self.op} to {self.label}"
        return f"{self.op.capitalize()} {self.label}"


def pid_column(view: View) -> str | None:
    """The column holding one process id per row (None if the view has none)."""
    for c in view.columns:
        if c.source == "proc.pid" and c.agg in ("first", "last"):
            return c.id
    return None


def actions_for(view: View, row) -> list[Action]:
    if row is None:
        return []
    values = row.values
    if view.key == ("container.id",):
        cid = values.get("id")
        if not cid or cid == "host" or values.get("runtime") != "docker":
            return []  # stop/restart go through Docker's API: Docker's containers only
        name = printable(str(values.get("name") or cid), limit=40)
        label = f"container {name} ({printable(str(cid), limit=12)})" if name != cid else f"container {cid}"
        return [Action("container", op, str(cid), label) for op in CONTAINER_OPS]
    col = pid_column(view)
    if col is None:
        return []
    pid = values.get(col)
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return []
    name = values.get("name") or values.get("proc") or ""
    label = f"pid {pid}" + (f" ({printable(str(name), limit=32)})" if name else "")
    return [Action("signal", sig, pid, label) for sig in SIGNALS]


class ActionRunner:
    """Carries actions out. ``docker_client`` is made on first use (``docker.from_env``)."""

    def __init__(self, docker_client=None) -> None:
        self._docker = docker_client

    def run(self, action: Action) -> str:
        if action.kind == "signal":
            return self.signal(action.target, action.op)
        if action.kind == "container":
            return self.container(str(action.target), action.op)
        raise ActionError(f"unknown action {action.kind!r}")

    def signal(self, pid, name: str) -> str:
        if name not in SIGNALS:
            raise ActionError(f"signal {name} is not offered")
        # 0 and negative pids address process groups or every process: never
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
            raise ActionError(f"refusing to signal pid {pid!r}")
        if pid == os.getpid():
            raise ActionError("refusing to signal ctop-ebpf itself (use q to quit)")
        try:
            os.kill(pid, getattr(signal, f"SIG{name}"))
        except ProcessLookupError:
            raise ActionError(f"pid {pid} no longer exists") from None
        except PermissionError:
            raise ActionError(f"not permitted to signal pid {pid}") from None
        return f"sent SIG{name} to pid {pid}"

    def container(self, cid: str, op: str) -> str:
        if op not in CONTAINER_OPS:
            raise ActionError(f"container action {op} is not offered")
        try:
            import docker  # noqa: PLC0415
            from docker.errors import DockerException, NotFound  # noqa: PLC0415
        except ImportError:
            raise ActionError("the docker Python SDK is not installed") from None
        try:
            if self._docker is None:
                self._docker = docker.from_env(timeout=DOCKER_TIMEOUT_S + 5)
            container = self._docker.containers.get(cid)
            if op == "stop":
                container.stop(timeout=DOCKER_TIMEOUT_S)
            else:
                container.restart(timeout=DOCKER_TIMEOUT_S)
        except NotFound:
            raise ActionError(f"container {cid} not found") from None
        except DockerException as exc:
            raise ActionError(f"docker {op} {cid} failed: {exc}") from None
        return f"container {cid}: {op} done"
