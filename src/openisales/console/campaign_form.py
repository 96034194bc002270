"""The campaign form: what an operator typed, to and from the API's create/modify body.

The form's fields are kept as typed (:class:`Typed`), so a refused form is
shown again as it was. :func:`body` turns them into the very body the
campaign API receives (v2 for a new campaign; an edit keeps the campaign's
API version, so a v1 integrator keeps reading the v1 shape), which the page
then checks with the API's own spec and ``plan_campaign``: every check and
result code is the API's. Conversions are literal: a blank field is absent
(null), a whole number is a JSON number, anything else is passed on as the
text it is, for the API's check to refuse with its code.

``datetime-local`` inputs hold ``strBeginTime``/``strEndTime``, in UTC as
the API reads them (``docs/campaigns.md``, "Times").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData

from openisales.domain.attempt import RESULT_TYPES
from openisales.domain.campaign import IVR_TYPES, SKILL_TYPES, Campaign, StoredPolicy
from openisales.domain.schedule import SCHEDULE_KEYS
from openisales.errors import ParamError
from openisales.validation import CONVERSION, WRONG_TYPE

MAX_CALLERS = 100  # the API's callerNo list bound
MAX_ENTRIES = 10  # policyJson entries the form offers
SKILL_KEYS = ("skillId", "skillName", "outBoundType")
DEVICE_TYPES = {
    1: "1 · intelligent IVR",
    2: "2 · predictive (skill queue)",
    3: "3 · automatic IVR",
    5: "5 · preview (skill queue)",
    6: "6 · preempted (skill queue)",
}
INIT_STATUSES = {0: "0 · running (default)", 2: "2 · running", 3: "3 · paused"}
BUSI_ACTIONS = {"0": "stop", "1": "next number after", "2": "same number after"}
_INT = re.compile(r"-?\d{1,18}")
_LOCAL_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_LOCAL_SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_SINGLE = (
    "name",
    "description",
    "begin",
    "end",
    "device_type",
    "max_alerting",
    "priority",
    "init_status",
    "callback_url",
    "skill_extra",
    "ivr_param",
    "policy_type",
    *(f"skill_{k}" for k in SKILL_KEYS),
    *SCHEDULE_KEYS,
)
_ROW_FIELD = re.compile(r"(caller|entry)\d{1,3}_[a-z0-9_]{1,20}|(busi|wait)\.[0-9A-Za-z.-]{1,101}")


@dataclass
class Typed:
    """The form's fields as typed (or as the stored campaign fills them)."""

    fields: dict[str, str] = field(default_factory=dict)
    no_retry: list[str] = field(default_factory=list)

    def get(self, key: str) -> str:
        return self.fields.get(key, "")

    def rows(self, prefix: str, key: str, *, spare: int, limit: int, least: int = 1) -> int:
        """How many rows of ``prefix{i}_…`` to show: those filled, ``spare`` blank ones more."""
        filled = max((i + 1 for i in range(limit) if self.get(f"{prefix}{i}_{key}")), default=0)
        return min(limit, max(least, filled + spare))


def from_form(form: FormData) -> Typed:
    typed = Typed()
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if key in _SINGLE or _ROW_FIELD.fullmatch(key):
            typed.fields.setdefault(key, value)
        elif key == "no_retry" and value not in typed.no_retry:
            typed.no_retry.append(value)
    return typed


def new(now: datetime) -> Typed:
    """A new campaign's starting values: today (UTC) for 30 days, 09:00-18:00 on workdays."""
    day = now.astimezone(UTC).strftime("%Y-%m-%d")
    return Typed(
        {
            "begin": f"{day}T00:00:00",
            "device_type": "2",
            "max_alerting": "20",
            "init_status": "0",
            "policy_type": "0",
            "workdayBeginTime1": "09:00",
            "workdayEndTime1": "18:00",
        }
    )


def from_campaign(campaign: Campaign) -> Typed:
    f = campaign.fields
    out: dict[str, str] = {
        "name": f.name,
        "description": f.description,
        "begin": _local(f.begin),
        "end": _local(f.end),
        "device_type": str(f.device_type),
        "max_alerting": str(f.max_alerting_time),
        "priority": _text(f.priority),
        "init_status": str(f.init_status),
        "callback_url": f.call_back_url or "",
        **{k: f.schedule.get(k, "") for k in SCHEDULE_KEYS},
    }
    for i, caller in enumerate(f.caller_nos):
        out[f"caller{i}_code"] = str(caller.get("accessCode") or "")
        out[f"caller{i}_priority"] = _text(caller.get("priority"))
    if isinstance(f.skill_param, dict):
        rest = dict(f.skill_param)
        for key in SKILL_KEYS:
            out[f"skill_{key}"] = _text(rest.pop(key, None))
        out["skill_extra"] = _json(rest) if rest else ""
    if f.ivr_param is not None:
        out["ivr_param"] = _json(f.ivr_param)
    typed = Typed(out)
    _fill_policy(typed, campaign.policy)
    return typed


def _fill_policy(typed: Typed, policy: StoredPolicy | None) -> None:
    out = typed.fields
    out["policy_type"] = str(policy.policy_type) if policy else "0"
    if policy is None:
        return
    typed.no_retry = list(policy.no_retry)
    for i, entry in enumerate(json.loads(policy.policy_json or "[]")[:MAX_ENTRIES]):
        out[f"entry{i}_data_type"] = str(entry.get("dataType") or "")
        rules = entry.get("policy")
        if entry.get("type") == 0:
            out[f"entry{i}_kind"] = "common"
            common = rules if isinstance(rules, dict) else {}
            out[f"entry{i}_days"] = _text(common.get("retryDay"))
            out[f"entry{i}_times"] = _text(common.get("retryTimes"))
            continue
        out[f"entry{i}_kind"] = "result"
        for rule in rules if isinstance(rules, list) else []:
            kind = rule.get("result") if isinstance(rule, dict) else None
            if kind in RESULT_TYPES and f"entry{i}_r{kind}_number" not in out:  # the first applies
                out[f"entry{i}_r{kind}_number"] = _text(rule.get("retryNumber"))
                out[f"entry{i}_r{kind}_interval"] = _text(rule.get("callInterval"))
    for rule in json.loads(policy.busi_json or "[]"):
        key = busi_key(rule["busiResultCode"], rule.get("busiResultSubCode"))
        out[f"busi.{key}"] = str(rule["busiResultPolicy"])
        out[f"wait.{key}"] = _text(rule.get("callInterval"))


def busi_key(code: str, sub: str | None = None) -> str:
    """A business result's key in field names (codes hold ``0-9A-Za-z-``, never ``.``)."""
    return f"{code}.{sub}" if sub else code


def busi_keys(typed: Typed) -> list[str]:
    """The keys of the business results the typed form has a rule for."""
    return [k.removeprefix("busi.") for k in typed.fields if k.startswith("busi.")]


def body(typed: Typed, version: int) -> dict[str, Any]:
    """The create/modify body of API ``version`` (1: one calling number, no retryPolicy)."""
    device = _int(typed.get("device_type"))
    callers = []
    for i in range(MAX_CALLERS if version == 2 else 1):
        code, priority = typed.get(f"caller{i}_code").strip(), typed.get(f"caller{i}_priority")
        if code or priority.strip():  # a priority without a number: the API says what is missing
            callers.append({"accessCode": code or None, "priority": _int(priority)})
    out: dict[str, Any] = {
        "name": typed.get("name") or None,
        "description": typed.get("description") or None,
        "strBeginTime": _wire_time(typed.get("begin")),
        "strEndTime": _wire_time(typed.get("end")),
        "deviceType": device,
        "maxAlertingTime": _int(typed.get("max_alerting")),
        "scheduleParam": {k: typed.get(k) for k in SCHEDULE_KEYS if typed.get(k)},
        "skillParam": _skill(typed) if device in SKILL_TYPES else None,
        "ivrParam": _json_field(typed.get("ivr_param"), "ivrParam")
        if device in IVR_TYPES
        else None,
        "initStatus": _int(typed.get("init_status")),
        "callBackUrl": typed.get("callback_url").strip() or None,
        "priority": _int(typed.get("priority")),
    }
    if version == 1:
        out["callerNo"] = callers[0]["accessCode"] if callers else None
    else:
        out["callerNo"] = callers
        out["retryPolicy"] = retry_policy(typed)
    return out


def retry_policy(typed: Typed) -> dict[str, Any]:
    """The ``retryPolicy`` object (the body of ``POST …/retryPolicy/{campaignId}``)."""
    entries = [e for i in range(MAX_ENTRIES) if (e := _entry(typed, i)) is not None]
    busi = []
    for key in busi_keys(typed):
        action = typed.get(f"busi.{key}").strip()
        if not action:
            continue  # no rule: the result completes the record
        code, _, sub = key.partition(".")
        rule: dict[str, Any] = {"busiResultCode": code, "busiResultPolicy": _int(action)}
        if sub:
            rule["busiResultSubCode"] = sub
        if action != "0":
            rule["callInterval"] = _int(typed.get(f"wait.{key}"))
        busi.append(rule)
    return {
        "policyType": _int(typed.get("policy_type")),
        "policyJson": json.dumps(entries, separators=(",", ":")) if entries else None,
        "noRetryPolicy": list(typed.no_retry) or None,
        "busiPolicy": busi or None,
    }


def _entry(typed: Typed, i: int) -> dict[str, Any] | None:
    kind = typed.get(f"entry{i}_kind")
    if kind not in ("common", "result"):
        return None
    entry: dict[str, Any] = {"type": 0 if kind == "common" else 1}
    data_type = typed.get(f"entry{i}_data_type").strip()
    if data_type:
        entry["dataType"] = data_type
    if kind == "common":
        entry["policy"] = {
            "retryDay": _int(typed.get(f"entry{i}_days")),
            "retryTimes": _int(typed.get(f"entry{i}_times")),
        }
    else:
        entry["policy"] = [
            {
                "result": kind_no,
                "retryNumber": _int(typed.get(f"entry{i}_r{kind_no}_number")),
                "callInterval": _int(typed.get(f"entry{i}_r{kind_no}_interval")),
            }
            for kind_no in RESULT_TYPES
            if typed.get(f"entry{i}_r{kind_no}_number").strip()
            or typed.get(f"entry{i}_r{kind_no}_interval").strip()
        ]
    return entry


def _skill(typed: Typed) -> dict[str, Any] | None:
    extra = _json_field(typed.get("skill_extra"), "skillParam")
    if extra is not None and not isinstance(extra, dict):
        raise ParamError(WRONG_TYPE, "skillParam", "further keys must be a JSON object")
    param: dict[str, Any] = dict(extra or {})
    for key in SKILL_KEYS:
        text = typed.get(f"skill_{key}").strip()
        if text:
            param[key] = text if key == "skillName" else _int(text)
    return param or None


def _json_field(text: str, name: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise ParamError(CONVERSION, name, "is not valid JSON") from None


def _int(text: str) -> Any:
    """``""`` → None, a whole number → int, anything else as typed (for the spec to refuse)."""
    text = text.strip()
    if not text:
        return None
    return int(text) if _INT.fullmatch(text) else text


def _wire_time(text: str) -> str | None:
    """A ``datetime-local`` value → ``yyyy-MM-dd HH:mm:ss``; other text as typed."""
    text = text.strip()
    if not text:
        return None
    if _LOCAL_MINUTE.fullmatch(text):
        return text.replace("T", " ") + ":00"
    if _LOCAL_SECOND.fullmatch(text):
        return text.replace("T", " ")
    return text


def _local(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


def choices(pairs: Iterable[tuple[str, str]], chosen: Iterable[str]) -> list[tuple[str, str]]:
    """``pairs`` (value, label), then each chosen value not among them, labelled by itself."""
    out = list(pairs)
    known = {v for v, _ in out}
    out += [(v, v) for v in dict.fromkeys(chosen) if v not in known]
    return out
