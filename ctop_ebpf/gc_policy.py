"""How often the cyclic garbage collector runs in a ctop-ebpf process.

Every tick the model builds hundreds of thousands of short-lived record
dicts; at the default gen0 threshold (700) they are scanned many times and
promoted, so full collections over the whole state (~100-300 ms with 5,000
processes) come every few ticks. They are freed by reference counting
anyway; the cyclic collector only has to run now and then. Set by the
composition root (ctop_ebpf: TUI and batch) and the benchmarks.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (100_000, 50, 100)


def configure_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
