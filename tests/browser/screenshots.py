"""Screenshots of every console page for docs/console.md: ``python -m tests.browser.screenshots``.

Starts a live server on a temporary embedded database (``tests/browser/live.py``),
fills VDN 1 with demo campaigns being dialled by the simulator
(``tour.arrange``), opens each page as the admin in Debian's chromium at
1280×800, saves ``docs/console/<page>.png`` and rewrites the "Screenshots"
section of ``docs/console.md`` to list them. A page that does not answer 200 is
left out and named on stderr. Takes about 30 seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.conftest import launch, log_in, new_context
from tests.browser.live import running
from tests.browser.tour import arrange, markdown, replace_section, visit

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "console")
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "console.md")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    with tempfile.TemporaryDirectory(prefix="openisales-shots-") as tmp:
        with running(Path(tmp), "sqlite") as live, sync_playwright() as playwright:
            arranged = arrange(live)
            browser = launch(playwright)
            context = new_context(browser, live)
            try:
                seen = visit(context.new_page(), arranged, out, log_in)
            finally:
                context.close()
                browser.close()
    for name, found in seen.items():
        if found.status != 200:
            (out / f"{name}.png").unlink(missing_ok=True)
            sys.stderr.write(f"left out {name}: HTTP {found.status}\n")
        elif found.problems:
            sys.stderr.write(f"{name}: {'; '.join(found.problems)}\n")
    doc: Path = args.doc.resolve()
    text = doc.read_text() if doc.exists() else ""
    doc.write_text(replace_section(text, markdown(out, doc)))
    sys.stdout.write(f"{sum(f.status == 200 for f in seen.values())} screenshots in {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
