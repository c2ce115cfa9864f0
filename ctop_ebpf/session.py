"""What one run is asked to do, checked before anything is attached."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ctop_ebpf.views import engine
from ctop_ebpf.views.catalogue import VIEWS_BY_ID, get_view
from ctop_ebpf.views.filter import FilterError
from ctop_ebpf.views.spec import View

if TYPE_CHECKING:  # (imported when a capture is opened)
    from ctop_ebpf.capture.replay import ReplaySource
    from ctop_ebpf.capture.writer import CaptureWriter


class UsageError(Exception):
    """Bad command-line input: exit 2 with this message."""


def parse_listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPV6]:PORT`` or ``:PORT`` (every IPv4 address) -> (host, port).

    Only the shape is checked here; whether the address can be bound is
    found out by binding it (ctop_ebpf/agent.py)."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        raise UsageError(f"--metrics-addr wants HOST:PORT (e.g. 127.0.0.1:9490 or :9490), got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise UsageError(f"--metrics-addr: write an IPv6 address in brackets, e.g. [::1]:9490, got {text!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"--metrics-addr: the port must be a number, got {port_text!r}") from None
    if not 1 <= port <= 65535:
        raise UsageError(f"--metrics-addr: the port must be 1-65535, got {port}")
    return host or "0.0.0.0", port


@dataclass
class Session:
    view: View
    filter_text: str
    query: object
    sort: str | None
    sort_desc: bool | None
    delay: float
    iterations: int | None
    output: str
    limit: int | None
    buffer_pages: int
    docker: bool
    readonly: bool
    write: str | None
    read: str | None
    force: bool
    metrics_addr: tuple[str, int] | None = None  # agent mode (--metrics-addr): where /metrics is served
    metrics_syscalls: bool = False
    runtime_endpoints: tuple[str, ...] = ()  # --runtime-endpoint, checked
    # opened by preflight() and taken by make_source(); the replay being played
    _replay: ReplaySource | None = field(default=None, repr=False)
    _writer: CaptureWriter | None = field(default=None, repr=False)
    active_replay: ReplaySource | None = field(default=None, repr=False)

    @classmethod
    def from_args(cls, args) -> "Session":
        view = get_view(args.view or "containers")
        try:
            query = engine.compile_filter(args.filter) if args.filter.strip() else None
        except FilterError as exc:
            raise UsageError(f"bad filter: {exc}\n  {args.filter}\n  {' ' * max(0, exc.column - 1)}^") from None
        sort = desc = None
        if args.sort:
            sort, desc = engine.parse_sort(args.sort)
            if view.column(sort) is None:
                raise UsageError(
                    f"view {view.id} has no column {sort!r} to sort by; "
                    f"its columns: {', '.join(c.id for c in view.columns)}"
                )
        if args.read and args.write:
            raise UsageError("--read and --write cannot be used together")
        metrics_addr = cls._agent_args(args)
        from ctop_ebpf.probes.containers.endpoints import ENV_VARIABLE, EndpointError, normalize  # noqa: PLC0415

        try:
            endpoints = tuple(normalize(e) for e in args.runtime_endpoint)
        except EndpointError as exc:
            raise UsageError(str(exc)) from None
        env = os.environ.get(ENV_VARIABLE, "")
        try:
            [normalize(e) for e in env.split(",") if e.strip()]
        except EndpointError as exc:
            raise UsageError(f"{ENV_VARIABLE}: {exc}") from None
        return cls(
            view=view, filter_text=args.filter.strip(), query=query, sort=sort, sort_desc=desc,
            delay=args.delay, iterations=args.iterations, output=args.output, limit=args.limit,
            buffer_pages=args.buffer_pages, docker=not args.no_docker,
            readonly=args.readonly or metrics_addr is not None,
            write=args.write, read=args.read, force=args.force,
            metrics_addr=metrics_addr, metrics_syscalls=getattr(args, "metrics_syscalls", False),
            runtime_endpoints=endpoints,
        )

    @staticmethod
    def _agent_args(args) -> tuple[str, int] | None:
        """The agent's address, after checking what goes with it (None: not the agent)."""
        addr = getattr(args, "metrics_addr", None)
        if addr is None:
            if getattr(args, "metrics_syscalls", False):
                raise UsageError("--metrics-syscalls goes with --metrics-addr")
            return None
        for given, option in ((args.batch, "--batch"), (args.read, "--read"), (args.view, "--view"),
                              (args.sort, "--sort"), (args.iterations, "--iterations"),
                              (args.limit, "--limit")):
            if given:
                raise UsageError(f"--metrics-addr serves metrics of the live host, headless: "
                                 f"{option} does not go with it")
        return parse_listen_address(addr)

    def make_source(self, progress=None, *, replay_pace: str = "recorded", warn=None,
                    push_filter: bool = False):
        """The event source of this run: a capture replay (--read) or the live probes,
        recorded into the --write file when one is given.

        ``replay_pace`` is "recorded" (the TUI) or "fast" (batch); ``warn`` receives
        the replay's warnings (a capture cut off by a crash), stderr by default, and
        live, the container runtimes' (one notice per endpoint outage).
        Raises UsageError (exit 2) for a capture that cannot be read or written.
        With ``push_filter`` (batch, whose filter never changes) the part of the
        filter that names containers or pids is applied in the kernel too,
        unless a capture is being written (it must hold everything).
        """
        from . import recording  # noqa: PLC0415

        if self.read:
            source, self._replay = self._replay or recording.open_replay(self.read), None
            self.active_replay = source
            source.pace = replay_pace
            if warn is not None:
                source.warn = warn
            return source
        writer, self._writer = self._writer, None
        if writer is None and self.write:
            writer = recording.open_writer(self.write, force=self.force, interval_s=self.delay)
        try:
            from ctop_ebpf.probes.containers.directory import ContainerDirectory  # noqa: PLC0415
            from ctop_ebpf.probes.live import LiveSource  # noqa: PLC0415

            containers = ContainerDirectory(docker_enabled=self.docker,
                                            runtime_endpoints=self.runtime_endpoints, warn=warn)
            scope = None
            if push_filter and writer is None:
                from ctop_ebpf.views.pushdown import kernel_scope  # noqa: PLC0415

                scope = kernel_scope(self.query)
            live = LiveSource(self.delay, buffer_pages=self.buffer_pages, containers=containers,
                              progress=progress, scope=scope)
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        if writer is None:
            return live
        return recording.RecordingSource(live, writer)

    @property
    def replay(self) -> ReplaySource | None:
        """The capture of --read, once opened (by preflight or make_source)."""
        return self.active_replay or self._replay

    def user_name(self, uid: int) -> str:
        """uid → login name: the capture's table on --read (the recording host's names),
        this host's passwd otherwise."""
        if self.active_replay is not None:
            return self.active_replay.user_name(uid)
        from ctop_ebpf.probes.procfs import user_name  # noqa: PLC0415

        return user_name(uid)

    def make_state(self, source=None):
        """A SystemState for this run: a replay names users as the recording host did.

        Can be called before the source is built (``state_factory=session.make_state``):
        names are looked up when a tick is rendered.
        """
        from ctop_ebpf.model.state import SystemState  # noqa: PLC0415

        return SystemState(user_name=self.user_name)

    def preflight(self) -> None:
        """Fail fast before any work starts: missing privilege (ProbeError, exit 3), then
        a capture that cannot be read or created (UsageError, exit 2).

        --read needs no privilege: the capture is opened and checked here. --write
        creates its file here (mode 0600, refused if it exists without --force), so an
        unusable path fails before the probes are compiled or attached.
        """
        from . import recording  # noqa: PLC0415

        if self.read:
            if self._replay is None and self.active_replay is None:
                self._replay = recording.open_replay(self.read)
            return
        from ctop_ebpf.probes import environment  # noqa: PLC0415

        environment.check_privileges()
        if self.write and self._writer is None:
            self._writer = recording.open_writer(self.write, force=self.force,
                                                         interval_s=self.delay)

    def close(self) -> None:
        """Release what preflight opened and make_source did not take (idempotent)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.discard()
        replay, self._replay = self._replay, None
        if replay is not None:
            replay.close()


__all__ = ["Session", "UsageError", "VIEWS_BY_ID"]
