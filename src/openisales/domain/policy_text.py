"""A campaign's retry policy in plain English, for a supervisor. Pure.

Each line states one rule exactly as the dialing engine applies it
(``attempt.decide`` for failed calls, ``writeback.decide`` for business
results; ``docs/dialing.md`` and ``docs/writeback.md``): every field of the
policy that changes what happens shows up in words, and so does a field that
is ignored (a shadowed entry or rule). :func:`describe` gives the whole
policy, :func:`describe_order`, :func:`describe_failures` and
:func:`describe_busi` its three parts, :func:`duration` a number of seconds
("1 h 30 min").
"""

from __future__ import annotations

from collections.abc import Sequence

from openisales.domain.attempt import PLATFORM, RESULT_TYPES, result_type
from openisales.domain.busi_policy import BusiAction, BusiRule
from openisales.domain.failcodes import CODES, SUCCESS
from openisales.domain.retry_policy import (
    CommonRetry,
    PolicyEntry,
    ResultRetry,
    ResultRule,
    RetryPolicy,
)

_UNITS = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
_EMPTY = RetryPolicy(0, (), (), ())


def duration(seconds: int) -> str:
    """``seconds`` in words, exactly: ``45 s``, ``5 min``, ``1 h 30 min``, ``2 d 1 s``; ``0 s``.

    Raises ``ValueError`` for a negative number.
    """
    if seconds < 0:
        raise ValueError(f"negative duration: {seconds}")
    parts = []
    left = seconds
    for unit, size in _UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts) or "0 s"


def describe(
    policy: RetryPolicy | None,
    *,
    reservation_fallback_s: int | None,
    common_interval_s: int | None = None,
) -> list[str]:
    """The whole policy, one sentence a line: dialling order, failed calls, business results.

    ``policy`` None is a campaign without a policy (as ``policy_from_stored``
    reads it). ``reservation_fallback_s`` is ``OPENISALES_RESERVATION_FALLBACK_S``
    (0 or None: a reservation never falls back); ``common_interval_s`` is
    ``OPENISALES_COMMON_RETRY_INTERVAL_S`` (None: named, not quoted).
    """
    policy = policy or _EMPTY
    return [
        describe_order(policy.turns),
        *describe_failures(policy, common_interval_s=common_interval_s),
        *describe_busi(policy.busi, reservation_fallback_s=reservation_fallback_s),
    ]


def describe_order(turns: Sequence[str]) -> str:
    """The dialling order of a record's numbers (``callPolicy.turns``, ``attempt.rotation``)."""
    kinds = list(dict.fromkeys(turns))
    if not kinds:
        return "Numbers are dialled in the order given"
    listed = ", then ".join(_type_name(t) for t in kinds)
    return f"Numbers are dialled by type: {listed}, then other types, in the order given"


def describe_failures(policy: RetryPolicy, *, common_interval_s: int | None = None) -> list[str]:
    """What follows a failed call: ``noRetryPolicy``, then the entry for the number's type."""
    lines = []
    if policy.no_retry:
        codes = _either(list(dict.fromkeys(policy.no_retry)))
        lines.append(
            f"A failed call whose display result is {codes} completes the record "
            "(no retry, whatever the rules below)"
        )
    moves_on = False
    if not policy.policy_entries:
        lines.append("Failed calls are not retried: each number is tried once")
        moves_on = True
    elif policy.policy_type != 1:
        first, *rest = policy.policy_entries
        scope = "All numbers"
        if first.data_type:
            scope += f" (dataType {first.data_type} is ignored: policyType 0)"
        lines.extend(_entry(scope, first, common_interval_s))
        moves_on = isinstance(first, ResultRetry)
        lines.extend(
            f"Entry {i} of policyJson is ignored: with policyType 0 the first entry applies"
            for i, _ in enumerate(rest, start=2)
        )
    else:
        seen: set[str | None] = set()
        typed = any(e.data_type for e in policy.policy_entries)
        for i, entry in enumerate(policy.policy_entries, start=1):
            key = entry.data_type or None
            scope = _scope(key, typed)
            if key in seen:
                lines.append(
                    f"Entry {i} of policyJson ({scope}) is ignored: an earlier one applies"
                )
                continue
            seen.add(key)
            lines.extend(_entry(scope, entry, common_interval_s))
            moves_on = moves_on or isinstance(entry, ResultRetry)
        if None not in seen:
            lines.append(f"{_scope(None, typed)}: failed calls are not retried")
            moves_on = True
    if moves_on:
        lines.append(
            "When a failed call is not retried, the next number is dialled at once; "
            "after the last number the record completes"
        )
    return lines


def describe_busi(rules: Sequence[BusiRule], *, reservation_fallback_s: int | None) -> list[str]:
    """What follows each written-back business result (``busiPolicy``).

    A rule for a result and sub-result wins over the rule for the result alone
    (``busi_policy.decide_busi``); a repeated rule is never used.
    """
    if not rules:
        return ["Any business result completes the record"]
    with_sub = {r.code for r in rules if r.sub_code}
    seen: set[tuple[str, str | None]] = set()
    lines = []
    reserving = False
    for rule in rules:
        name = _busi_name(rule, rule.code in with_sub)
        key = (rule.code, rule.sub_code)
        if key in seen:
            lines.append(f"{name}: a repeated rule, ignored (the first one applies)")
            continue
        seen.add(key)
        if rule.action == BusiAction.STOP:
            lines.append(f"{name} → stop (the record completes)")
            continue
        reserving = True
        after = _after(rule.interval_s or 0)
        reserved = _reservation(reservation_fallback_s)
        if rule.action == BusiAction.SAME_NUMBER:
            lines.append(f"{name} → same number {after}, {reserved}")
        else:
            lines.append(
                f"{name} → next number {after}, {reserved}; "
                "the record completes when the answered number was the last"
            )
    lines.append("Any other business result → stop (the record completes)")
    if reserving:
        lines.append(
            "A retry is reserved only when the write-back names the agent (workNo); "
            "otherwise any agent may take it"
        )
    return lines


def _entry(scope: str, entry: PolicyEntry, common_interval_s: int | None) -> list[str]:
    if isinstance(entry, CommonRetry):
        return [f"{scope}: {_common(entry, common_interval_s)}"]
    return [f"{scope}: {line}" for line in _result_rules(entry.rules)]


def _common(rule: CommonRetry, interval_s: int | None) -> str:
    """``attempt._common``: calls a local day, days from the first call's day, numbers in turn."""
    per_day = max(1, rule.retry_times or 1)
    days = max(1, rule.retry_days or 1)
    notes = [
        f"{field} {'not set' if value is None else value} counts as 1"
        for field, value in (("retryTimes", rule.retry_times), ("retryDay", rule.retry_days))
        if not value
    ]
    note = f" ({'; '.join(notes)})" if notes else ""
    if per_day * days == 1:
        return f"one call in all, whatever the failure{note}; then the record completes"
    text = (
        f"up to {_plural(per_day, 'call')} a day on {_plural(days, 'day')} from the day of "
        f"the first call (VDN time), {per_day * days} calls at most, whatever the failure{note}; "
        "the numbers take turns (after the last, the first again)"
    )
    if per_day > 1:
        if interval_s is None:
            text += ", the common retry interval (OPENISALES_COMMON_RETRY_INTERVAL_S) apart"
        elif interval_s:
            text += f", {duration(interval_s)} apart"
        else:
            text += ", one right after the other"
    if days > 1:
        text += (
            "; once a day's calls are used, the next call is at the next midnight "
            "(within the calling window)"
        )
    return text + "; then the record completes"


def _result_rules(rules: Sequence[ResultRule | None]) -> list[str]:
    """``attempt.decide`` with a result policy: the first rule for the failure's type applies."""
    lines = []
    covered: set[int] = set()
    for rule in rules:
        if rule is None:
            continue  # a null item matches nothing
        if rule.result not in RESULT_TYPES:
            lines.append(
                f"result type {rule.result} matches no failure (types are "
                f"{min(RESULT_TYPES)}–{max(RESULT_TYPES)}), so its rule never applies"
            )
            continue
        failure = _failure(rule.result)
        if rule.result in covered:
            lines.append(
                f"a second rule for {_short(rule.result)} is ignored (the first one applies)"
            )
            continue
        covered.add(rule.result)
        if rule.retry_number == 0:
            lines.append(f"{failure} → next number at once (retryNumber 0: no retry)")
        else:
            lines.append(
                f"{failure} → same number {_after(rule.call_interval_s)}, up to "
                f"{_plural(rule.retry_number, 'time')} per number; then the next number"
            )
    others = [_short(t) for t in RESULT_TYPES if t not in covered]
    if len(others) == len(RESULT_TYPES):
        lines.append("any failure → next number at once")
    elif others:
        lines.append(f"other failures ({', '.join(others)}) → next number at once")
    return lines


def _failure(kind: int) -> str:
    """A result type and its failure codes: ``busy (00145, 00537)``."""
    if kind == PLATFORM:
        return f"{_short(kind)} (any other failure code)"
    codes = [c.code for c in CODES if c.code != SUCCESS and result_type(c.code) == kind]
    return f"{_short(kind)} ({', '.join(codes)})"


def _short(kind: int) -> str:
    return RESULT_TYPES[kind].split(" (")[0]


def _scope(data_type: str | None, typed: bool) -> str:
    if data_type:
        return f"{_type_name(data_type)} numbers"
    return "Numbers of any other type" if typed else "All numbers"


def _type_name(data_type: str) -> str:
    return data_type or '"" (no type)'


def _busi_name(rule: BusiRule, has_sub_rules: bool) -> str:
    if rule.sub_code:
        return f"{rule.code} / {rule.sub_code}"
    return f"{rule.code} (any other sub-result)" if has_sub_rules else rule.code


def _reservation(fallback_s: int | None) -> str:
    if not fallback_s:
        return "reserved for the agent who wrote it back (no fallback to other agents)"
    return (
        "reserved for the agent who wrote it back, "
        f"open to any agent {duration(fallback_s)} after it is due"
    )


def _after(seconds: int) -> str:
    return f"after {duration(seconds)}" if seconds else "at once"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _either(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
