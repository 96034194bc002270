"""A campaign's dialing settings (ours): gateway, gateway configuration, concurrency cap."""

from __future__ import annotations

from typing import Any

from openisales.errors import ParamError
from openisales.validation import BAD_VALUE, Any_, Int, Obj, Str

GATEWAYS = ("", "simulator", "webhook")

SPEC = Obj(
    "body",
    (
        Str(
            "gateway", max_len=16, description="simulator, webhook, or empty for the server default"
        ),
        Any_(
            "gatewayConfig",
            description="simulator: seed, mix, agents, results, ring_s, talk_s; webhook: url",
        ),
        Int("maxConcurrency", minimum=1, maximum=10_000, description="calls in progress at once"),
    ),
    required=True,
)


def check(body: dict[str, Any]) -> dict[str, Any]:
    gateway = body["gateway"] or ""
    if gateway not in GATEWAYS:
        raise ParamError(BAD_VALUE, "gateway", "must be simulator, webhook or empty")
    config = body["gatewayConfig"] or {}
    if gateway == "webhook" and config.get("url") is not None:
        url = config["url"]
        if (
            not isinstance(url, str)
            or not url.startswith(("http://", "https://"))
            or len(url) > 1024
        ):
            raise ParamError(BAD_VALUE, "gatewayConfig.url", "must be an http(s) URL")
    if gateway == "simulator":
        mix = config.get("mix")
        if mix is not None and (
            not isinstance(mix, dict)
            or not mix
            or any(not isinstance(v, int | float) or v < 0 for v in mix.values())
            or sum(mix.values()) <= 0
        ):
            raise ParamError(BAD_VALUE, "gatewayConfig.mix", "must map failure codes to weights")
    return {"gateway": gateway or None, "config": config, "max_concurrency": body["maxConcurrency"]}
