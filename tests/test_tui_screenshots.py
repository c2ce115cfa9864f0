"""``make screenshots``: the script writes every SVG, the same bytes on each run."""

from __future__ import annotations

import html
import re

import pytest

from tests import screenshots


@pytest.mark.skipif(not screenshots.CAPTURE.exists(), reason="no shipped capture")
def test_screenshots_from_the_shipped_capture(tmp_path, restore_tz):
    assert screenshots.main([str(tmp_path)], out=lambda _: None) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(screenshots.shots(synthetic=False))
    drill = (tmp_path / "drilldown-processes.svg").read_text()
    assert "demo-web" in drill and "History" in drill
    assert "terminal-drilldown-processes-" in drill  # stable class names
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert screenshots.main([str(tmp_path)], out=lambda _: None) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first


def test_screenshots_from_the_synthetic_scenario(tmp_path, restore_tz):
    assert screenshots.main([str(tmp_path), "--synthetic"], out=lambda _: None) == 0
    svg = (tmp_path / "drilldown-files.svg").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
    assert "Containers › db › Files" in text
