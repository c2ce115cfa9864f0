"""The system state, in plain Python: no bcc, no Textual, no host I/O.

events.py    the events and per-tick aggregates every source produces
state.py     SystemState: applies events, ends ticks, prunes what exited
records.py   the fine-grained records of a tick (per process, fd, syscall ...)
fdtable.py   what an fd refers to, its per-tick counters, socket address text
host.py      the host line of the TUI header (plain data)
source.py    the EventSource seam and run_pipeline (events in, records out)
"""
