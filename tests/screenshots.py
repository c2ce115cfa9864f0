"""Make the README screenshots: ``python -m tests.screenshots DIR`` (``make screenshots``).

The TUI runs headless on a deterministic source: the shipped capture
``tests/data/demo.ctop`` replayed to its end (two busybox containers, a
loopback httpd and wget, file work), or the synthetic scenario of
``tests.scenario`` with ``--synthetic`` (or when the capture is missing). Times
are shown in UTC, the terminal is 160×40, and each shot is an SVG.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ctop_ebpf.capture.replay import ReplaySource
from ctop_ebpf.model.host import HostInfo
from ctop_ebpf.model.state import SystemState
from ctop_ebpf.tui.app import CtopApp
from tests.scenario import demo_host, demo_source, demo_state

SIZE = (160, 40)
CAPTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "demo.ctop"

Steps = list
class Paced:
    """The source, one tick at a time: the next batch waits until the app has
    rendered the last tick (so every tick is drawn, the history panel has its
    series, and nothing depends on timing); ``hold_at`` holds the source after
    that many ticks until ``release`` is set."""

    def __init__(self, source, hold_at: int | None = None) -> None:
        self.source = source
        self.hold_at = hold_at
        self.release = asyncio.Event()
        self.app: CtopApp | None = None

    def _rendered(self) -> bool:
        app = self.app
        return app is None or app.latest is None or app.main.shown is app.latest

    async def events(self):
        ticks = 0
        async for batch in self.source.events():
            yield batch
            if any(type(e).__name__ == "Tick" for e in batch):
                ticks += 1
                while not self._rendered():
                    await asyncio.sleep(0.005)
                if ticks == self.hold_at:
                    await self.release.wait()

    async def aclose(self) -> None:
        await self.source.aclose()


def _wait_ticks(n: int):
    """A step: wait until the app has seen ``n`` ticks (the source holds there)."""

    async def step(app: CtopApp, pilot) -> None:
        while app.ticks < n:
            await pilot.pause(0.02)
        await pilot.pause()

    step.hold_at = n
    return step


async def _release(app: CtopApp, pilot) -> None:
    """A step: let the held source run to its end."""
    app.source.release.set()
    while app.source_state not in ("ended", "failed"):
        await pilot.pause(0.02)
    await pilot.pause()


def _select(name: str, column: str = "name"):
    """A step: put the cursor on the first row whose ``column`` is ``name``."""

    async def step(app: CtopApp, pilot) -> None:
        table = app.main.table
        for i, row in enumerate(table.ordered_engine_rows()):
            if str(row.values.get(column)) == name:
                table.move_cursor(row=i)
                break
        else:
            raise SystemExit(f"screenshots: no row with {column} = {name!r} in "
                             f"{app.main.nav.current.view.id}")
        await pilot.pause()

    return step


async def _top(app: CtopApp, pilot) -> None:
    """A step: the cursor on the first row (where it landed depends on the ticks seen)."""
    app.main.table.move_cursor(row=0)
    await pilot.pause()


def _keys(*keys: str):
    async def step(app: CtopApp, pilot) -> None:
        for key in keys:
            await pilot.press(key)
            await pilot.pause()

    return step


def _filter(text: str):
    async def step(app: CtopApp, pilot) -> None:
        await pilot.press("backslash")
        app.main.prompt.input.value = text
        await pilot.press("enter")
        await pilot.pause()

    return step


def shots(synthetic: bool) -> dict[str, tuple[str, Steps]]:
    web, worker, server = ("web", "db", "nginx") if synthetic else ("demo-web", "demo-worker", "httpd")
    return {
        "containers.svg": ("containers", []),
        "processes.svg": ("processes", []),
        "files.svg": ("files", []),
        "connections.svg": ("connections", []),
        "syscalls.svg": ("syscalls", []),
        "errors.svg": ("errors", []),
        # Containers › web › Processes, drilled into early so that the history panel
        # of the server process has the whole replay
        "drilldown-processes.svg": ("containers", [_wait_ticks(2), _select(web), _keys("enter"),
                                                   _release, _select(server), _keys("g")]),
        # Containers › worker › Files: drill in, then switch view (the context stays)
        "drilldown-files.svg": ("containers", [_select(worker), _keys("enter", "3")]),
        "filter.svg": ("processes", [_filter(f"container.name = {web} or proc.name = dockerd")]),
        "help.svg": ("containers", [_keys("f1")]),
    }


def make_app(view: str, synthetic: bool, capture: Path, hold_at: int | None) -> CtopApp:
    if synthetic:
        paced = Paced(demo_source(), hold_at)
        app = CtopApp(paced, view=view, host=demo_host, state_factory=demo_state)
        paced.app = app
        return app
    source = ReplaySource(str(capture), pace="fast", warn=lambda m: None)
    header = source.header
    paced = Paced(source, hold_at)
    app = CtopApp(
        paced, view=view,
        state_factory=lambda: SystemState(user_name=source.user_name),
        host=lambda: HostInfo(hostname=header.host, kernel=header.kernel),
        source_label=f"replay {capture.name}", replay=True,
    )
    paced.app = app
    return app


async def shoot(path: Path, view: str, steps: Steps, synthetic: bool, capture: Path) -> None:
    hold_at = next((s.hold_at for s in steps if hasattr(s, "hold_at")), None)
    app = make_app(view, synthetic, capture, hold_at)
    steps = [_top, *steps]
    async with app.run_test(size=SIZE) as pilot:
        if hold_at is None:
            while app.source_state not in ("ended", "failed"):
                await pilot.pause(0.02)
        if app.source_state == "failed":
            raise SystemExit(f"screenshots: the source failed ({path.name})")
        await pilot.pause()
        for step in steps:
            await step(app, pilot)
        await pilot.pause()
        path.write_text(stable_ids(app.export_screenshot(), path.stem), encoding="utf-8")


def stable_ids(svg: str, name: str) -> str:
    """Rich names the SVG's CSS classes after a hash that changes from run to run;
    name them after the file so that a re-run changes nothing."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return re.sub(r"terminal-\d+", f"terminal-{slug}", svg)


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.screenshots", description=__doc__.split("\n\n")[0])
    p.add_argument("directory", type=Path)
    p.add_argument("--capture", type=Path, default=CAPTURE, help=f"capture to replay ({CAPTURE.name})")
    p.add_argument("--synthetic", action="store_true", help="use the synthetic scenario instead")
    args = p.parse_args(argv)
    synthetic = args.synthetic or not args.capture.exists()
    if synthetic and not args.synthetic:
        print(f"screenshots: {args.capture} not found, using the synthetic scenario", file=sys.stderr)
    os.environ["TZ"] = "UTC"
    time.tzset()
    args.directory.mkdir(parents=True, exist_ok=True)
    for name, (view, steps) in shots(synthetic).items():
        path = args.directory / name
        asyncio.run(shoot(path, view, steps, synthetic, args.capture))
        out(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
