"""The campaign page's dialling form: gateway, the simulator's agents, answer mix and call
length, the webhook's URL, and the concurrency cap, to and from the dialing API's body.

:func:`body` builds the body ``POST …/dialing/{campaignId}`` receives, which
the page then checks with the API's own ``dialing_config.SPEC`` and
``dialing_config.check``: the result codes are the API's. Settings the form
does not show (a simulator's ``seed`` or ``results``, say, set through the
API) are kept while the gateway stays the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData

from openisales.errors import ParamError
from openisales.validation import BAD_VALUE

FIELDS = ("gateway", "agents", "mix", "ring_s", "max_concurrency", "webhook_url")
MAX_FIELD = 2048
MAX_RING_S = 600.0
GATEWAYS = {"": "server default", "simulator": "simulator", "webhook": "webhook"}
DEFAULT_MIX = "default"
CUSTOM_MIX = "custom"
# preset -> (label, the simulator's ``mix``; None: its default, docs/dialing.md "Simulator")
MIXES: dict[str, tuple[str, dict[str, int] | None]] = {
    DEFAULT_MIX: ("mostly answered (60 % answered; busy, no answer, ring timeout, off)", None),
    "answered": ("always answered (00000)", {"00000": 1}),
    "no-answer": ("never answered: no answer (00603)", {"00603": 1}),
    "busy": ("always busy (00537)", {"00537": 1}),
    "powered-off": ("every phone powered off (00548)", {"00548": 1}),
}


def mix_name(mix: object) -> str:
    """The preset a stored ``mix`` is, or ``custom``."""
    if not mix:
        return DEFAULT_MIX
    for name, (_, preset) in MIXES.items():
        if preset is not None and isinstance(mix, Mapping) and dict(mix) == preset:
            return name
    return CUSTOM_MIX


def _number(value: object) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def from_settings(current: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields for the stored settings (``dialing_config.get_dialing``'s answer)."""
    config: Mapping[str, Any] = current["gatewayConfig"] or {}
    agents = config.get("agents")
    url = config.get("url")
    return {
        "gateway": current["gateway"] or "",
        "agents": ", ".join(str(a) for a in agents) if isinstance(agents, list) else "",
        "mix": mix_name(config.get("mix")),
        "ring_s": _number(config.get("ring_s")),
        "max_concurrency": _number(current["maxConcurrency"]),
        "webhook_url": url if isinstance(url, str) else "",
    }


def from_form(form: FormData) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in FIELDS:
        value = form.get(key)
        out[key] = value.strip()[:MAX_FIELD] if isinstance(value, str) else ""
    return out


def body(typed: Mapping[str, str], current: Mapping[str, Any]) -> dict[str, Any]:
    """The dialing API's body for what was typed (``current``: the stored settings)."""
    gateway = typed.get("gateway", "")
    same = (current["gateway"] or "") == gateway
    config: dict[str, Any] = dict(current["gatewayConfig"] or {}) if same else {}
    if gateway == "simulator":
        agents = [a.strip() for a in typed.get("agents", "").split(",") if a.strip()]
        _put(config, "agents", agents or None)
        mix = typed.get("mix") or DEFAULT_MIX
        if mix in MIXES:
            _put(config, "mix", MIXES[mix][1])
        elif mix != CUSTOM_MIX:
            raise ParamError(BAD_VALUE, "gatewayConfig.mix", f"must be one of {', '.join(MIXES)}")
        _put(config, "ring_s", _seconds(typed.get("ring_s", "")))
    elif gateway == "webhook":
        _put(config, "url", typed.get("webhook_url") or None)
    raw = typed.get("max_concurrency", "")
    # a whole number is a JSON number; anything else goes as text, for the API's check to refuse
    concurrency: int | str | None = int(raw) if raw.isdigit() and len(raw) < 10 else raw or None
    return {"gateway": gateway, "gatewayConfig": config, "maxConcurrency": concurrency}


def _put(config: dict[str, Any], key: str, value: object) -> None:
    if value is None:
        config.pop(key, None)
    else:
        config[key] = value


def _seconds(raw: str) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_RING_S:
        raise ParamError(BAD_VALUE, "gatewayConfig.ring_s", f"must be 0 to {MAX_RING_S:g} seconds")
    return value
