"""The docs hang together: one index lists every document; every link resolves (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
INDEX = DOCS / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCED = re.compile(r"^```.*?^```$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)
DOCUMENTS = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]


def links(document: Path) -> list[str]:
    """The relative links of a Markdown document (code blocks left out)."""
    text = FENCED.sub("", document.read_text())
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"\]\([^)]*\)", "", heading).strip().lower()  # a link keeps its text
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_the_index_lists_every_document_and_the_readme_links_it() -> None:
    listed = {(DOCS / t.split("#")[0]).resolve() for t in links(INDEX)}
    documents = {p.resolve() for p in DOCS.rglob("*.md")} - {INDEX.resolve()}
    missing = sorted(str(p.relative_to(REPO)) for p in documents - listed)
    assert not missing, f"add to docs/README.md, one line each: {missing}"
    assert "docs/README.md" in links(REPO / "README.md")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(document: Path) -> None:
    broken = []
    for target in links(document):
        path, _, fragment = target.partition("#")
        resolved = (document.parent / path) if path else document
        if not resolved.exists():
            broken.append(target)
        elif fragment and resolved.suffix == ".md":
            anchors = {anchor(h) for h in HEADING.findall(FENCED.sub("", resolved.read_text()))}
            if fragment not in anchors:
                broken.append(target)
    assert not broken, f"{document.relative_to(REPO)}: broken links {broken}"
