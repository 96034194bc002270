"""Campaigns (spec 2.1): request specs, statuses and the pure rules.

Times on the wire are ``yyyy-MM-dd HH:mm:ss`` in UTC (``domain.schedule``).
The stored status is 2 (running) or 3 (paused); from its ``strEndTime`` on, a
campaign is reported 4 (expired) whatever was stored (:func:`effective_status`).
Every rule takes ``now`` as an argument; nothing here reads the clock or the store.
See ``docs/campaigns.md`` for the rules that are ours rather than Huawei's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit

from openisales.domain.retry_policy import RETRY_POLICY_SPEC, RetryPolicy, parse_retry_policy
from openisales.domain.schedule import (
    SCHEDULE_SPEC,
    check_schedule,
    parse_time,
    start_of_day,
)
from openisales.errors import Conflict, ParamError
from openisales.validation import (
    BAD_VALUE,
    COMBINATION,
    EMPTY,
    Any_,
    Int,
    List,
    Obj,
    Str,
)


class CampaignStatus(IntEnum):
    RUNNING = 2  # running, not started yet, or finished calling (Huawei's "2")
    PAUSED = 3
    EXPIRED = 4


RUNNING, PAUSED, EXPIRED = CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.EXPIRED

DEVICE_TYPES = (1, 2, 3, 5, 6)
IVR_TYPES = frozenset({1, 3})  # intelligent IVR, automatic IVR
SKILL_TYPES = frozenset({2, 5, 6})  # predictive, preview, preempted: dial for a skill queue
PREVIEW = 5
MAX_LIVE_PER_KIND = 20  # Huawei's max.liveliest.taskCount default

START_TOO_EARLY = "0200002"
SKILL_QUOTA = "0200003"
IVR_QUOTA = "0200004"
DUPLICATE_NAME = "0200005"
STATUS_FORBIDS = "0200011"
ALREADY_ENDED = "0200016"

NUMBER_CHARS = "0-9*#"

_CALLER_V2 = Obj(
    "callerNo",
    (
        Str("accessCode", required=True, max_len=24, allowed=NUMBER_CHARS, description="a number"),
        Int("priority", minimum=1, maximum=5, description="1 (highest) to 5"),
    ),
    required=True,
    description="a calling number",
)


def _body(caller: Str | List, *extra: Str | Int | Obj | List | Any_) -> Obj:
    return Obj(
        "body",
        (
            Str("name", required=True, max_len=100, description="unique in the VDN"),
            Str("description", max_len=200, forbid_special=True, description="free text"),
            Str("strBeginTime", required=True, description="yyyy-MM-dd HH:mm:ss, UTC"),
            Str("strEndTime", required=True, description="yyyy-MM-dd HH:mm:ss, UTC"),
            Int(
                "deviceType",
                required=True,
                choices=DEVICE_TYPES,
                description="1 intelligent IVR, 2 predictive, 3 automatic IVR, 5 preview, "
                "6 preempted; cannot change",
            ),
            caller,
            Int("maxAlertingTime", required=True, minimum=5, maximum=120, description="seconds"),
            SCHEDULE_SPEC,
            Any_("skillParam", description="required for deviceType 2, 5, 6; stored as given"),
            Any_("ivrParam", description="required for deviceType 1, 3; stored as given"),
            Int("initStatus", choices=(0, 2, 3), description="3 creates the campaign paused"),
            Str("callBackUrl", max_len=1024, description="http(s) URL for result pushes"),
            Int("priority", minimum=1, maximum=5, description="1 (highest) to 5; stored and shown"),
            *extra,
        ),
        required=True,
    )


CREATE_V1_SPEC = _body(
    Str(
        "callerNo",
        required=True,
        max_len=24,
        allowed=NUMBER_CHARS,
        description="the calling number",
    )
)
CREATE_V2_SPEC = _body(
    List(
        "callerNo",
        _CALLER_V2,
        required=True,
        max_items=100,
        description="the calling numbers; the dialer uses the lowest priority first",
    ),
    RETRY_POLICY_SPEC,
    Any_("callPolicy", description="stored as given"),
)
RETRY_POLICY_BODY = replace(RETRY_POLICY_SPEC, required=True)

LIST_SPEC = (
    Str("name", max_len=30, description="substring of the name, case-insensitive"),
    Int("status", choices=(0, 2, 3, 4), from_text=True, description="0 all"),
    Int("deviceType", choices=(0, *DEVICE_TYPES), from_text=True, description="0 all"),
    Str("beginTime", description="yyyy-MM-dd HH:mm:ss, UTC"),
    Str("endTime", description="yyyy-MM-dd HH:mm:ss, UTC"),
    Int("curPage", from_text=True, maximum=1_000_000_000, description="default 1"),
    Int("rowsPerPage", from_text=True, minimum=1, maximum=100, description="default 10"),
)


@dataclass(frozen=True)
class Draft:
    """A checked create or modify body. ``call_policy``/``retry`` None: not given."""

    name: str
    description: str
    begin: datetime
    end: datetime
    device_type: int
    api_version: int
    caller_nos: tuple[dict[str, Any], ...]
    max_alerting_time: int
    schedule: dict[str, str]
    skill_param: dict[str, Any] | None
    ivr_param: dict[str, Any] | None
    init_status: int
    call_back_url: str | None
    priority: int | None
    call_policy: dict[str, Any] | None = None
    retry: RetryPolicy | None = None


@dataclass(frozen=True)
class StoredPolicy:
    policy_type: int
    policy_json: str
    no_retry: tuple[str, ...]
    busi_json: str


@dataclass(frozen=True)
class Campaign:
    campaign_id: int
    status: int  # as stored
    fields: Draft  # ``fields.retry`` is None: the policy is ``policy``
    policy: StoredPolicy | None


@dataclass(frozen=True)
class Search:
    name: str | None
    status: int
    device_type: int
    begin: datetime | None
    end: datetime | None
    page: int
    rows: int


def check_start(begin: datetime, now: datetime) -> None:
    if begin < start_of_day(now):
        raise Conflict(
            "strBeginTime: must not be earlier than 00:00 today (UTC)", result_code=START_TOO_EARLY
        )


def _callers(raw: Any, version: int) -> tuple[dict[str, Any], ...]:
    if version == 1:
        return ({"accessCode": raw},)
    callers = tuple(
        {"accessCode": c["accessCode"]}
        | ({} if c["priority"] is None else {"priority": c["priority"]})
        for c in raw
    )
    codes = [c["accessCode"] for c in callers]
    if len(codes) != len(set(codes)):
        raise ParamError(COMBINATION, "callerNo", "repeats an accessCode")
    return callers


def _check_url(url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ParamError(BAD_VALUE, "callBackUrl", "must be an http or https URL")


def plan_campaign(body: dict[str, Any], version: int) -> Draft:
    """A checked create/modify body -> :class:`Draft`, applying the cross-field rules."""
    begin = parse_time(body["strBeginTime"], "strBeginTime")
    end = parse_time(body["strEndTime"], "strEndTime")
    if end <= begin:
        raise ParamError(COMBINATION, "strEndTime", "must be later than strBeginTime")
    device_type = body["deviceType"]
    if device_type == PREVIEW and body["maxAlertingTime"] < 9:
        raise ParamError(BAD_VALUE, "maxAlertingTime", "must be at least 9 for deviceType 5")
    schedule = check_schedule(body["scheduleParam"])
    if device_type in SKILL_TYPES and body["skillParam"] is None:
        raise ParamError(EMPTY, "skillParam", "is required when deviceType is 2, 5 or 6")
    if device_type in IVR_TYPES and body["ivrParam"] is None:
        raise ParamError(EMPTY, "ivrParam", "is required when deviceType is 1 or 3")
    _check_url(body["callBackUrl"])
    callers = _callers(body["callerNo"], version)
    retry = body.get("retryPolicy")
    return Draft(
        name=body["name"],
        description=body["description"] or "",
        begin=begin,
        end=end,
        device_type=device_type,
        api_version=version,
        caller_nos=callers,
        max_alerting_time=body["maxAlertingTime"],
        schedule=schedule,
        skill_param=body["skillParam"],
        ivr_param=body["ivrParam"],
        init_status=body["initStatus"] or 0,
        call_back_url=body["callBackUrl"],
        priority=body["priority"],
        call_policy=body.get("callPolicy"),
        retry=parse_retry_policy(retry) if retry is not None else None,
    )


def plan_search(params: dict[str, Any]) -> Search:
    begin = parse_time(params["beginTime"], "beginTime") if params["beginTime"] else None
    end = parse_time(params["endTime"], "endTime") if params["endTime"] else None
    if begin is not None and end is not None and end < begin:
        raise ParamError(COMBINATION, "endTime", "must not be earlier than beginTime")
    return Search(
        name=params["name"],
        status=params["status"] or 0,
        device_type=params["deviceType"] or 0,
        begin=begin,
        end=end,
        page=max(params["curPage"] or 1, 1),
        rows=params["rowsPerPage"] or 10,
    )


def plan_retry_policy(raw: Any) -> RetryPolicy:
    """Check the set-retry-policy body (the retryPolicy object); errors name ``retryPolicy.*``."""
    checked = RETRY_POLICY_BODY.check(raw, "retryPolicy")
    assert checked is not None  # required
    return parse_retry_policy(checked)


def initial_status(init_status: int) -> CampaignStatus:
    return PAUSED if init_status == PAUSED else RUNNING


def effective_status(status: int, end: datetime, now: datetime) -> int:
    """The status to report: 4 from the end time on, whatever was stored."""
    return int(EXPIRED) if status == EXPIRED or end <= now else status


def check_quota(device_type: int, live_skill: int, live_ivr: int) -> None:
    """At most 20 non-expired campaigns per kind (skill queue, IVR) in a VDN."""
    if device_type in SKILL_TYPES and live_skill >= MAX_LIVE_PER_KIND:
        raise Conflict(
            f"deviceType: {MAX_LIVE_PER_KIND} skill-queue campaigns already exist",
            result_code=SKILL_QUOTA,
        )
    if device_type in IVR_TYPES and live_ivr >= MAX_LIVE_PER_KIND:
        raise Conflict(
            f"deviceType: {MAX_LIVE_PER_KIND} IVR campaigns already exist", result_code=IVR_QUOTA
        )


def _forbid(campaign: Campaign, action: str, status: int) -> Conflict:
    return Conflict(
        f"campaignId: campaign {campaign.campaign_id} has status {status}; cannot {action}",
        result_code=STATUS_FORBIDS,
    )


def pause(campaign: Campaign, now: datetime) -> CampaignStatus:
    status = effective_status(campaign.status, campaign.fields.end, now)
    if status != RUNNING:
        raise _forbid(campaign, "pause (must be 2)", status)
    return PAUSED


def resume(campaign: Campaign, now: datetime) -> CampaignStatus:
    status = effective_status(campaign.status, campaign.fields.end, now)
    if status != PAUSED:
        raise _forbid(campaign, "resume (must be 3)", status)
    return RUNNING


def check_deletable(campaign: Campaign, now: datetime) -> None:
    status = effective_status(campaign.status, campaign.fields.end, now)
    if status == RUNNING:
        raise _forbid(campaign, "delete while running (pause it first)", status)


def check_modification(campaign: Campaign, draft: Draft, now: datetime) -> None:
    """Modify: not once expired (``0200016``), same deviceType, start rule if it moved."""
    if effective_status(campaign.status, campaign.fields.end, now) == EXPIRED:
        raise Conflict(
            f"campaignId: campaign {campaign.campaign_id} has already ended",
            result_code=ALREADY_ENDED,
        )
    if draft.device_type != campaign.fields.device_type:
        raise ParamError(
            BAD_VALUE,
            "deviceType",
            f"cannot change (the campaign has {campaign.fields.device_type})",
        )
    if draft.begin != campaign.fields.begin:
        check_start(draft.begin, now)
