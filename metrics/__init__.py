"""Per-container metrics for Prometheus, as plain data.

families.py names the metric families; totals.py folds each tick's records
into totals since the agent started and hands out immutable snapshots. The
HTTP side (prometheus_client, the server) is the command line's
(ctop_ebpf/agent.py). No host I/O, no network here.
"""
