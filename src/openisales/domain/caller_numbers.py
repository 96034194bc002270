"""A campaign's calling numbers (spec 2.1): add (POST) and delete (DELETE ``…/callerNo/{id}``).

The numbers live in the campaign's ``callerNo`` list, each ``{accessCode,
priority}`` as create and modify store them (a v1 campaign's one number has
no priority); the dialer uses the one of the lowest priority
(``domain.dialing.first_caller``). Both operations take at most 100 numbers a
call; a failed call changes nothing. See ``docs/campaigns.md`` for the rules
that are ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openisales.domain.campaign import NUMBER_CHARS
from openisales.errors import Conflict, ParamError
from openisales.validation import COMBINATION, Int, List, Obj, Str

MAX_PER_CALL = 100
DIGITS = "0-9"


def _body(allowed: str, number: str, *more: Int, description: str) -> Obj:
    """``{"callerNo": [{accessCode, ...more}]}``: at most MAX_PER_CALL numbers of 24 characters."""
    access_code = Str("accessCode", required=True, max_len=24, allowed=allowed, description=number)
    item = Obj("callerNo", (access_code, *more), description="a calling number")
    numbers = List("callerNo", item, required=True, max_items=MAX_PER_CALL, description=description)
    return Obj("body", (numbers,), required=True)


ADD_SPEC = _body(
    DIGITS,
    "the calling number, digits only",
    Int("priority", required=True, minimum=1, maximum=5, description="1 highest"),
    description=f"the numbers to add, at most {MAX_PER_CALL}",
)
DELETE_SPEC = _body(
    NUMBER_CHARS,
    "digits; * and # too, as create accepts them",
    description=f"the numbers to delete, at most {MAX_PER_CALL}; one must remain",
)

Callers = tuple[dict[str, Any], ...]


def _codes(body: dict[str, Any]) -> list[str]:
    codes = [c["accessCode"] for c in body["callerNo"]]
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code in seen:
            raise ParamError(COMBINATION, f"callerNo[{i}].accessCode", f"repeats {code}")
        seen.add(code)
    return codes


def _held(current: Sequence[Any]) -> set[str]:
    return {str(c.get("accessCode")) for c in current if isinstance(c, dict)}


def plan_add(current: Sequence[Any], body: dict[str, Any], max_total: int) -> Callers:
    """The campaign's numbers after adding the checked ``body``, appended in request order.

    ``02000009`` for a number twice in the request; ``0200001`` for a number
    the campaign already has, or more than ``max_total`` numbers in all.
    """
    codes = _codes(body)
    already = sorted(set(codes) & _held(current))
    if already:
        raise Conflict(f"callerNo: already calling numbers of the campaign: {', '.join(already)}")
    if len(current) + len(codes) > max_total:
        raise Conflict(
            f"callerNo: the campaign would have {len(current) + len(codes)} calling numbers; "
            f"the maximum is {max_total}"
        )
    added = tuple(
        {"accessCode": c["accessCode"], "priority": c["priority"]} for c in body["callerNo"]
    )
    return (*current, *added)


def plan_delete(current: Sequence[Any], body: dict[str, Any]) -> Callers:
    """The campaign's numbers after deleting the checked ``body``'s, in their stored order.

    ``02000009`` for a number twice in the request; ``0200001`` for a number
    the campaign does not have, or when no number would be left.
    """
    codes = set(_codes(body))
    unknown = sorted(codes - _held(current))
    if unknown:
        raise Conflict(f"callerNo: not calling numbers of the campaign: {', '.join(unknown)}")
    left = tuple(c for c in current if not (isinstance(c, dict) and c.get("accessCode") in codes))
    if not left:
        raise Conflict("callerNo: a campaign keeps at least one calling number")
    return left
