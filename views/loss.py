"""What to tell a person when a tick lost events (batch stderr, TUI notice).

The counter alone (``stats.lost``, the header) says that numbers are
incomplete; the hint says why and what to change. Plain text, no markup.
"""

from __future__ import annotations

import mmap

from .format import fmt_bytes, fmt_count

HINT_EVERY_S = 60.0  # at most one hint a minute: sustained loss is in the counter
PAGE = mmap.PAGESIZE  # a perf buffer page
MAX_PAGES = 1 << 14  # 64 MiB per CPU


def loss_hint(lost: int, buffer_pages: int | None, *, kernel_filter: bool = False) -> str:
    """``buffer_pages`` None: a replay (the loss happened while recording)."""
    if buffer_pages is None:
        return (f"{fmt_count(lost)} events were lost in this tick when the capture was "
                "recorded: its counts are incomplete.")
    text = (f"{fmt_count(lost)} events lost in this tick: the kernel wrote events faster than "
            "ctop-ebpf read them, so this tick's counts are incomplete (the model re-reads /proc). ")
    bigger = min(buffer_pages * 4, MAX_PAGES)
    if bigger > buffer_pages:
        text += (f"Larger buffers: --buffer-pages {bigger} (now {buffer_pages}, "
                 f"{fmt_bytes(buffer_pages * PAGE)} per CPU)")
    else:
        text += f"The buffers are at their largest ({fmt_bytes(buffer_pages * PAGE)} per CPU)"
    if kernel_filter:
        text += "; or a --filter on containers or pids, which is applied in the kernel"
    return text + "."
