"""The result pusher's settings (from :class:`~openisales.config.Settings`) and its metrics."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from openisales.config import Settings
from openisales.domain import push
from openisales.metrics import Metrics

MAX_IN_FLIGHT = 10_000  # upper bound of the setting (the claim names the busy URLs)


@dataclass(frozen=True)
class PushSettings:
    max_pushes: int = push.MAX_PUSHES  # pushes per record in all, the first included
    retry_interval_s: int = int(push.RETRY_INTERVAL.total_seconds())
    batch_size: int = 100  # rows leased per round; at most this many records per POST
    lease_s: int = 60  # a leased row is due again after this; must exceed timeout_s
    timeout_s: float = 10.0  # whole request, connect to last byte of the answer
    max_in_flight: int = 100  # POSTs in flight, all destinations
    max_per_destination: int = 2  # POSTs in flight to one callBackUrl
    circuit_failures: int = 5  # failed POSTs in a row that hold a destination back; 0: never
    circuit_open_s: int = 60  # how long a destination is held back
    poll_interval_s: float = 1.0
    housekeeping_s: float = 5.0  # pending gauge, rows whose last push never finished
    push_ak: str = ""  # C2-sign pushes when both are set
    push_sk: str = ""

    def __post_init__(self) -> None:
        if self.max_pushes < 1:
            raise ValueError("max_pushes must be at least 1")
        if self.retry_interval_s < 0 or self.batch_size < 1:
            raise ValueError("retry_interval_s must be >= 0 and batch_size >= 1")
        if self.timeout_s <= 0 or self.lease_s <= self.timeout_s:
            raise ValueError("lease_s must exceed timeout_s, which must be positive")
        if not 1 <= self.max_per_destination <= self.max_in_flight <= MAX_IN_FLIGHT:
            raise ValueError(f"need 1 <= max_per_destination <= max_in_flight <= {MAX_IN_FLIGHT}")
        if self.circuit_failures < 0 or self.circuit_open_s < 1:
            raise ValueError("circuit_failures must be >= 0 and circuit_open_s >= 1")
        if bool(self.push_ak) != bool(self.push_sk):
            raise ValueError("push_ak and push_sk go together")


class PushMetrics:
    """The pusher's series, registered once per :class:`Metrics` registry."""

    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.sent = Counter(
            "openisales_pushes_sent",
            "Records sent to a callBackUrl (once per POST they were in)",
            registry=registry,
        )
        self.delivered = Counter(
            "openisales_pushes_delivered",
            "Records a receiver acknowledged (HTTP 200, retCode 0)",
            registry=registry,
        )
        self.retried = Counter(
            "openisales_pushes_retried",
            "Records whose push failed and will be pushed again",
            registry=registry,
        )
        self.failed = Counter(
            "openisales_pushes_failed",
            "Records given up after max_pushes failed pushes",
            registry=registry,
        )
        self.pending = Gauge(
            "openisales_pushes_pending",
            "Outbox rows still to be delivered (as of the last count)",
            registry=registry,
            multiprocess_mode="mostrecent",  # a count of one table, whoever made it
        )
        self.in_flight = Gauge(
            "openisales_push_requests_in_flight",
            "POSTs to callBackUrls sent and not yet answered or timed out",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.held_back = Counter(
            "openisales_push_destinations_held_back",
            "Times a callBackUrl was held back after failed POSTs in a row (circuit opened)",
            registry=registry,
        )

    @classmethod
    def of(cls, metrics: Metrics) -> PushMetrics:
        found = _REGISTERED.get(metrics)
        if found is None:
            found = _REGISTERED[metrics] = cls(metrics)
        return found


def push_settings(settings: Settings) -> PushSettings:
    """The push settings held in a :class:`~openisales.config.Settings`."""
    return PushSettings(
        max_pushes=settings.push_max_pushes,
        retry_interval_s=settings.push_retry_interval_s,
        batch_size=settings.push_batch_size,
        lease_s=settings.push_lease_s,
        timeout_s=settings.push_timeout_s,
        max_in_flight=settings.push_max_in_flight,
        max_per_destination=settings.push_max_per_destination,
        circuit_failures=settings.push_circuit_failures,
        circuit_open_s=settings.push_circuit_open_s,
        push_ak=settings.push_ak,
        push_sk=settings.push_sk,
    )


_REGISTERED: weakref.WeakKeyDictionary[Metrics, PushMetrics] = weakref.WeakKeyDictionary()
