"""The F7 legend: every column of every view is explained."""

from __future__ import annotations

from ctop_ebpf.views.catalogue import VIEWS, get_view
from ctop_ebpf.views.legend import legend


def test_every_column_of_every_view_has_a_meaning():
    for view in VIEWS:
        got = legend(view)
        assert got.title == view.title and got.description == view.description
        assert len(got.columns) == len([c for c in view.columns if c.width > 0])
        for title, meaning in got.columns:
            assert meaning and not meaning.startswith(" ("), (view.id, title)


def test_legend_says_where_enter_goes_and_what_counters_are():
    got = legend(get_view("syscalls"))
    assert got.enter.startswith("Syscall Callers")
    meanings = dict(got.columns)
    assert meanings["CALLS"].startswith("System calls made") and "per second" in meanings["CALLS"]
    assert "number of different values" in meanings["PROCS"]
    assert legend(get_view("opens")).enter.startswith("Processes")
