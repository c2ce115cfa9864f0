"""Drive the real ``ctop-ebpf --batch --output json`` as a user would."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CTOP = [sys.executable, "-m", "ctop_ebpf"]


class BatchRun:
    """``with BatchRun("files", "--filter", "...") as run: run.wait_ready(); ...``"""

    def __init__(self, view: str, *args: str, delay: float = 0.5, extra_env: dict | None = None):
        self.cmd = [*CTOP, "--batch", "--output", "json", "--view", view, "--delay", str(delay), *args]
        self.ticks: list[dict] = []
        self._q: queue.Queue = queue.Queue()
        self.env = {**os.environ, **(extra_env or {})}

    def __enter__(self) -> "BatchRun":
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._q.put(json.loads(line))
        self._q.put(None)

    def next_tick(self, timeout: float = 30.0) -> dict:
        item = self._q.get(timeout=timeout)
        if item is None:
            raise RuntimeError(f"ctop-ebpf exited {self.proc.wait()}: {self.proc.stderr.read()}")
        self.ticks.append(item)
        return item

    def wait_ready(self, timeout: float = 60.0) -> None:
        """The first tick printed means the probes are attached."""
        self.next_tick(timeout)

    def collect_until(self, done, timeout: float = 30.0, settle: int = 2) -> list[dict]:
        """Read ticks until ``done(self.ticks)`` holds, then ``settle`` more."""
        deadline = time.monotonic() + timeout
        while not done(self.ticks):
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout}s; last tick: {self.ticks[-1:]}")
            self.next_tick(timeout)
        for _ in range(settle):
            self.next_tick(timeout)
        return self.ticks

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr = self.proc.stderr.read()


def rows(ticks: list[dict]):
    for t in ticks:
        yield from t["rows"]


def total(ticks: list[dict], column: str, **match) -> int:
    return sum(r[column] or 0 for r in rows(ticks) if all(r.get(k) == v for k, v in match.items()))


def named_python(tmp_path: Path, name: str) -> str:
    """A python3 that runs with its own comm (a symlink named ``name``)."""
    link = tmp_path / name
    link.symlink_to(os.path.realpath("/usr/bin/python3"))
    return str(link)
