"""Every console page opens in chromium with no script error, refused asset or nameless control."""

from __future__ import annotations

import struct
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.conftest import log_in
from tests.browser.live import Live
from tests.browser.tour import LOGIN, PAGES, arrange, visit


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_every_page_renders_cleanly_at_1280_and_on_a_tablet(
    live: Live, page: Page, tmp_path: Path
) -> None:
    seen = visit(page, arrange(live), tmp_path, log_in)
    bad = {name: v for name, v in seen.items() if v.status != 200 or v.problems}
    assert not bad, "\n".join(
        f"{n}: HTTP {v.status}; {'; '.join(v.problems)}" for n, v in bad.items()
    )
    assert sorted(seen) == sorted(s.name for s in [LOGIN, *PAGES])
    for name in seen:
        assert png_size(tmp_path / f"{name}.png") == (1280, 800), name
