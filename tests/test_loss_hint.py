"""views.loss: the hint shown when a tick lost events."""

from ctop_ebpf.views.loss import MAX_PAGES, loss_hint


def test_live_hint_names_a_larger_buffer_and_the_current_size():
    text = loss_hint(12673, 256)
    assert text.startswith("12.7 k events lost in this tick")
    assert "--buffer-pages 1024 (now 256, 1.0 MiB per CPU)" in text
    assert "--filter" not in text


def test_batch_hint_suggests_a_kernel_filter_when_none_applies():
    assert "a --filter on containers or pids, which is applied in the kernel" in loss_hint(5, 256, kernel_filter=True)


def test_largest_buffers_and_replays():
    assert "at their largest (64.0 MiB per CPU)" in loss_hint(5, MAX_PAGES)
    assert "--buffer-pages" not in loss_hint(5, MAX_PAGES)
    replay = loss_hint(7, None)
    assert "when the capture was recorded" in replay and "--buffer-pages" not in replay
