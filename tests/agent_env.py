"""The agent (``ctop-ebpf --metrics-addr``) and a real Prometheus, driven as an operator would.

Prometheus is Debian's package, fetched with ``apt-get download`` and
unpacked with ``dpkg-deb -x`` into a folder of the test session (no service
is installed or started); it listens and scrapes on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
CTOP = [sys.executable, "-m", "ctop_ebpf"]


class Unavailable(Exception):
    """Why Prometheus could not be had (turned into pytest.skip)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10.0, headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def parse(text: str) -> dict:
    """Prometheus text -> {family name: family}."""
    return {m.name: m for m in text_string_to_metric_families(text)}


def value(families: dict, name: str, sample: str | None = None, **labels) -> float | None:
    fam = families.get(name)
    if fam is None:
        return None
    for s in fam.samples:
        if (sample is None or s.name == sample) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


class AgentRun:
    """``with AgentRun("--filter", "...") as agent: agent.wait_ticks(2); agent.scrape()``"""

    def __init__(self, *args: str, delay: float = 0.5, port: int | None = None, wrap: list[str] = ()):
        """``wrap``: a command that runs the agent (setpriv ...), exec'ing it in the same process."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.cmd = [*wrap, *CTOP, "--metrics-addr", f"127.0.0.1:{self.port}", "--delay", str(delay), *args]
        self.proc: subprocess.Popen | None = None
        self.stderr = ""

    def __enter__(self) -> "AgentRun":
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        return self

    def scrape_text(self, timeout: float = 10.0, headers: dict | None = None) -> str:
        status, _, body = http_get(self.url, timeout, headers)
        assert status == 200, (status, body[:300])
        return body.decode()

    def scrape(self) -> dict:
        return parse(self.scrape_text())

    def ticks(self) -> int:
        """Ticks folded so far (0 while the probes start, -1 while nothing answers)."""
        try:
            n = value(
                self.scrape(), "ctop_agent_tick_duration_seconds", "ctop_agent_tick_duration_seconds_count"
            )
        except (OSError, AssertionError):
            return -1
        return int(n or 0)

    def wait_ticks(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.ticks() < n:
            if self.proc.poll() is not None:
                raise AssertionError(f"the agent exited {self.proc.returncode}: {self.proc.stderr.read()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {n} ticks in {timeout} s")
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> tuple[int, float]:
        """Send ``sig``; (exit code, seconds it took)."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            _, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, self.stderr = self.proc.communicate()
            raise AssertionError(f"still running {timeout} s after {signal.Signals(sig).name}") from None
        return self.proc.returncode, time.monotonic() - t0

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.stop(signal.SIGINT)


def unpack_prometheus(into: Path) -> Path:
    """Debian's prometheus package unpacked into ``into``; returns its usr/bin."""
    bin_dir = into / "root" / "usr" / "bin"
    if (bin_dir / "prometheus").exists():
        return bin_dir
    into.mkdir(parents=True, exist_ok=True)

    def download() -> subprocess.CompletedProcess:
        return subprocess.run(
            ["apt-get", "download", "-q", "prometheus"], cwd=into, capture_output=True, text=True, timeout=300
        )

    got = download()
    if got.returncode != 0:  # a fresh machine: no package lists yet
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300)
        got = download()
    debs = sorted(into.glob("prometheus_*.deb"))
    if got.returncode != 0 or not debs:
        raise Unavailable(f"apt-get download prometheus failed: {got.stderr.strip()[-500:]}")
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(into / "root")], check=True, timeout=120)
    return bin_dir


class Prometheus:
    """A Prometheus of the test's own, scraping ``targets`` on 127.0.0.1 every second."""

    def __init__(self, bin_dir: Path, workdir: Path, targets: list[str]) -> None:
        self.bin_dir = bin_dir
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: ctop-ebpf\n    static_configs:\n"
            f"      - targets: [{', '.join(repr(t) for t in targets)}]\n"
        )
        self.cmd = [
            str(bin_dir / "prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Prometheus":
        self.log = open(self.workdir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=self.workdir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_get(f"{self.base}/-/ready", 2)[0] == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise AssertionError(
                    f"prometheus did not start: {(self.workdir / 'prometheus.log').read_text()}"
                )
            time.sleep(0.2)

    def query(self, expr: str) -> list[dict]:
        """An instant query through the HTTP API: the result vector."""
        url = f"{self.base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        status, _, body = http_get(url)
        data = json.loads(body)
        assert status == 200 and data["status"] == "success", data
        return data["data"]["result"]

    def targets_up(self) -> list[dict]:
        status, _, body = http_get(f"{self.base}/api/v1/targets")
        return json.loads(body)["data"]["activeTargets"]

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
