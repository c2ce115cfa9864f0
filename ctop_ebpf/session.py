"""What one run is asked to do, checked before anything is attached."""

from __future__ import annotations

from dataclasses import dataclass, field

from views import engine
from views.catalogue import VIEWS_BY_ID, get_view
from views.filter import FilterError
from views.spec import View


class UsageError(Exception):
    """Bad command-line input: exit 2 with this message."""


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
    view_given: bool = False
    extra: dict = field(default_factory=dict)

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
        return cls(
            view=view, filter_text=args.filter.strip(), query=query, sort=sort, sort_desc=desc,
            delay=args.delay, iterations=args.iterations, output=args.output, limit=args.limit,
            buffer_pages=args.buffer_pages, docker=not args.no_docker, readonly=args.readonly,
            write=args.write, read=args.read, force=args.force, view_given=args.view is not None,
        )

    def make_source(self, progress=None):
        """The live probes (or, later, a capture replay) as an EventSource."""
        if self.read:
            raise UsageError("replaying capture files (--read) is not built yet")
        if self.write:
            raise UsageError("recording capture files (--write) is not built yet")
        from model.containers import ContainerDirectory  # noqa: PLC0415
        from probes.live import LiveSource  # noqa: PLC0415

        containers = ContainerDirectory(docker_enabled=self.docker)
        return LiveSource(self.delay, buffer_pages=self.buffer_pages, containers=containers,
                          progress=progress)

    def preflight(self) -> None:
        """Fail fast (exit 3) on missing privilege before any work starts."""
        if self.read:
            return
        from probes import environment  # noqa: PLC0415

        environment.check_privileges()


__all__ = ["Session", "UsageError", "VIEWS_BY_ID"]
