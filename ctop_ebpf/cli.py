"""Command line: parse, check, and hand over to the TUI or the batch printer.

Exit codes everywhere: see exit_codes.py.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .exit_codes import EXIT_OK, EXIT_USAGE

EPILOG = """\
examples:
  ctop-ebpf                                   the TUI, starting at Containers
  ctop-ebpf --view files --filter 'container.name = web and fd.name startswith /etc'
  ctop-ebpf --batch --output json --view syscalls --iterations 5 --delay 1
  ctop-ebpf --batch --view processes --sort -pid --iterations 1
  ctop-ebpf --metrics-addr :9490               headless agent: per-container metrics for Prometheus
  ctop-ebpf --view pods --runtime-endpoint unix:///run/containerd/containerd.sock
  ctop-ebpf --list-views | --list-fields
"""


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def power_of_two(text: str) -> int:
    value = positive_int(text)
    if value & (value - 1):
        raise argparse.ArgumentTypeError(f"must be a power of two, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from ctop_ebpf.views.catalogue import VIEWS_BY_ID  # noqa: PLC0415

    p = argparse.ArgumentParser(
        prog="ctop-ebpf",
        description="A container-aware system-call explorer: live per-container processes, "
        "files, connections and syscalls from eBPF, csysdig style.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"ctop-ebpf {__version__}")
    p.add_argument("-v", "--view", default=None, choices=sorted(VIEWS_BY_ID), metavar="VIEW",
                   help="view to start in (default: containers); see --list-views")
    p.add_argument("-f", "--filter", default="", metavar="EXPR",
                   help="sysdig-style filter expression, e.g. \"proc.name = nginx\"; see --list-fields")
    p.add_argument("-d", "--delay", type=positive_float, default=1.0, metavar="SECONDS",
                   help="refresh interval in seconds (default 1)")
    p.add_argument("-s", "--sort", default=None, metavar="COLUMN",
                   help="sort by COLUMN descending; -COLUMN for ascending")
    p.add_argument("-b", "--batch", action="store_true", help="print ticks to stdout instead of the TUI")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text",
                   help="batch output format (default text)")
    p.add_argument("-n", "--iterations", type=positive_int, default=None, metavar="N",
                   help="stop after N ticks (batch; default: run until interrupted)")
    p.add_argument("--limit", type=positive_int, default=None, metavar="ROWS",
                   help="rows per tick in text output (default: all)")
    p.add_argument("--buffer-pages", type=power_of_two, default=256, metavar="PAGES",
                   help="perf buffer pages per CPU, a power of two (default 256 = 1 MiB)")
    p.add_argument("--no-docker", action="store_true", help="do not ask the Docker daemon for names")
    p.add_argument("--runtime-endpoint", action="append", default=[], metavar="unix:///PATH",
                   help="a container runtime socket to ask for names, images and pods, besides the "
                   "standard ones (CRI: containerd, CRI-O, cri-dockerd; podman; Docker); repeatable; "
                   "also CONTAINER_RUNTIME_ENDPOINT")
    p.add_argument("--readonly", action="store_true", help="disable every action (signals, container stop)")
    p.add_argument("-w", "--write", metavar="FILE", help="record a capture file while running")
    p.add_argument("-r", "--read", metavar="FILE", help="replay a capture file (no root needed)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --write file")
    p.add_argument("--metrics-addr", metavar="HOST:PORT",
                   help="run headless and serve per-container metrics for Prometheus at "
                        "http://HOST:PORT/metrics until stopped (implies --readonly)")
    p.add_argument("--metrics-syscalls", action="store_true",
                   help="with --metrics-addr: also series per system call and per errno")
    p.add_argument("--list-views", action="store_true", help="list the views and exit")
    p.add_argument("--list-fields", action="store_true", help="list the filter fields and exit")
    p.add_argument("--dump-probes", action="store_true", help="print the BPF C program and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before a run took over the signals (still importing): a stop
        return EXIT_OK


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_views:
        from ctop_ebpf.views.catalogue import format_view_list  # noqa: PLC0415

        print(format_view_list())
        return EXIT_OK
    if args.list_fields:
        from ctop_ebpf.views.fields import format_field_list  # noqa: PLC0415

        sys.stdout.write(format_field_list())
        return EXIT_OK
    if args.dump_probes:
        from ctop_ebpf.probes import loader  # noqa: PLC0415

        print(loader.build_text(loader.default_defines()), end="")
        return EXIT_OK
    from .session import Session, UsageError  # noqa: PLC0415

    try:
        session = Session.from_args(args)
    except UsageError as exc:
        print(f"ctop-ebpf: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if session.metrics_addr is not None:
        from .agent import run_agent  # noqa: PLC0415

        return run_agent(session)
    if args.batch:
        from .batch import run_batch  # noqa: PLC0415

        return run_batch(session)
    from .interactive import run_tui  # noqa: PLC0415

    return run_tui(session)
