"""The platform failure codes (``failCode``) of call attempts, as data.

Every call attempt ends with a five-digit ``failCode`` (``00000`` = success).
A VDN groups failure codes into its own **display results** (``createObResult``,
see ``obs_result.py``); an attempt's display ``resultCode`` is then looked up in
the VDN's failCode → resultCode map with :func:`display_code`. A failCode the VDN
has not mapped has no display result: ``resultCode`` stays empty (None). There is
deliberately no default mapping: display results are tenant-defined.

Sources of each entry (``source``):

* ``"selection"`` — listed with its meaning and category in the callback page's
  selection (spec §2.6, Huawei cec_07_4046 / 0788).
* ``"catalogue"`` — in Huawei's full catalogue (cec_07_1139) with the meaning our
  reference gives; the category is ours.
* ``"number"`` — only the number is in our reference; meaning and category are
  ours and deliberately vague.
* ``"openisales"`` — a code of our own, outside Huawei's ranges (``39001``: the
  number was blocklisted after its record was added, so it was not called).

``34606`` is listed by Huawei both as a platform and as a resource failure; it is
filed here under ``resource`` (its example cause is the concurrency limit).

``docs/failure-codes.md`` is generated from this module
(``python -m openisales.domain.failcodes``) and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Category = Literal["success", "user", "platform", "resource", "system"]
Source = Literal["selection", "catalogue", "number", "openisales"]

SUCCESS = "00000"
NO_RESULT = "34608"  # written back when no result arrives in time
UNKNOWN = "unknown"  # the category of a code outside the catalogue


@dataclass(frozen=True)
class FailCode:
    code: str
    meaning: str
    category: Category
    source: Source


_CODES: list[tuple[str, str, Category, Source]] = [
    (SUCCESS, "Success", "success", "selection"),
    # user side
    ("00129", "Empty (unallocated) number", "user", "catalogue"),
    ("00145", "Busy", "user", "catalogue"),
    ("00146", "No answer", "user", "catalogue"),
    ("00147", "No answer", "user", "catalogue"),
    ("00149", "Rejected", "user", "catalogue"),
    ("00208", "Powered off", "user", "catalogue"),
    ("00209", "Number suspended", "user", "catalogue"),
    ("00531", "User hung up", "user", "selection"),
    ("00537", "Busy", "user", "selection"),
    ("00538", "Empty or wrong number", "user", "selection"),
    ("00548", "Powered off", "user", "selection"),
    ("00549", "Out of the service area", "user", "selection"),
    ("00551", "User hung up or not reached", "user", "selection"),
    ("00601", "Hung up before answer", "user", "selection"),
    ("00603", "No answer", "user", "selection"),
    ("00604", "Rejected", "user", "selection"),
    ("00701", "Abandoned in the queue", "user", "selection"),
    # platform
    ("00702", "Queue timeout", "platform", "selection"),
    ("00703", "Data timeout", "platform", "catalogue"),
    ("01040", "Ring timeout", "platform", "selection"),
    ("01041", "Platform failure code 01041", "platform", "number"),
    ("01043", "Timed out waiting for the result", "platform", "selection"),
    ("01046", "Agent seizure failed", "platform", "selection"),
    ("01049", "Detection timeout", "platform", "selection"),
    ("01056", "Platform failure code 01056", "platform", "number"),
    ("01281", "Platform failure code 01281", "platform", "number"),
    ("01288", "Platform failure code 01288", "platform", "number"),
    ("34601", "Campaign (task) not found", "platform", "selection"),
    ("34605", "Empty number (the record has no number to call)", "platform", "selection"),
    (NO_RESULT, "No result (written back on timeout)", "platform", "selection"),
    # resources
    ("00602", "Resource failure (code 00602)", "resource", "selection"),
    ("00605", "Resource failure (code 00605)", "resource", "selection"),
    ("01048", "OBS call limit reached", "resource", "selection"),
    ("34606", "Call attempt failed (e.g. concurrency limit)", "resource", "selection"),
    # system
    ("00606", "System failure (code 00606)", "system", "selection"),
    ("34611", "System failure (code 34611)", "system", "selection"),
    ("39001", "Number blocklisted: not called (openisales)", "platform", "openisales"),
]

CATALOGUE: dict[str, FailCode] = {
    c.code: c for c in sorted((FailCode(*row) for row in _CODES), key=lambda c: c.code)
}
CODES: tuple[FailCode, ...] = tuple(CATALOGUE.values())  # in code order


def describe(code: str) -> str | None:
    """The meaning of ``code``, or None when it is not in the catalogue."""
    found = CATALOGUE.get(code)
    return found.meaning if found else None


def category(code: str) -> str:
    """``success``, ``user``, ``platform``, ``resource`` or ``system``; ``unknown`` otherwise."""
    found = CATALOGUE.get(code)
    return found.category if found else UNKNOWN


def is_known(code: str) -> bool:
    return code in CATALOGUE


def display_code(fail_code: str, mapping: Mapping[str, str]) -> str | None:
    """The display ``resultCode`` a VDN shows for ``fail_code``; None when unmapped.

    ``mapping`` is the VDN's failCode → resultCode map
    (``services.obs_results.mapping``). There is no fallback: an unmapped code,
    including ``00000``, has no display result.
    """
    return mapping.get(fail_code)


def page(page_size: int, page_num: int) -> tuple[int, tuple[FailCode, ...]]:
    """``(total, codes)`` of one page of the catalogue in code order (pages from 1)."""
    start = (page_num - 1) * page_size
    return len(CODES), CODES[start : start + page_size]


def render_markdown() -> str:
    """The table of ``docs/failure-codes.md``."""
    lines = [
        "# Platform failure codes",
        "",
        "Generated from `src/openisales/domain/failcodes.py` by",
        "`python -m openisales.domain.failcodes`; a test keeps this file equal to the module.",
        "`queryOBSResultCode` serves this list, and `createObResult` accepts only these codes.",
        "",
        "Source: *selection* = meaning and category from the callback page's selection",
        "(spec §2.6); *catalogue* = meaning from Huawei's full catalogue (cec_07_1139),",
        "category ours; *number* = only the number is known to us, meaning and category ours;",
        "*openisales* = a code of our own.",
        "",
        "| failCode | Meaning | Category | Source |",
        "| --- | --- | --- | --- |",
    ]
    lines.extend(f"| `{c.code}` | {c.meaning} | {c.category} | {c.source} |" for c in CODES)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_markdown())
