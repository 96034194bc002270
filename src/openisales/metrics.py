"""Prometheus metrics (one registry per process, served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.api_results = Counter(
            "openisales_api_results",
            "OpenAPI answers by operation and result code (write-backs included)",
            ["operation", "result_code"],
            registry=self.registry,
        )
        self.claims = Counter(
            "openisales_claims", "Call-data records claimed for dialing", registry=self.registry
        )
        self.dispatches = Counter(
            "openisales_dispatches",
            "Call tasks handed to a gateway",
            ["gateway"],
            registry=self.registry,
        )
        self.attempts = Counter(
            "openisales_attempt_outcomes",
            "Attempt outcomes by failure code",
            ["fail_code"],
            registry=self.registry,
        )
        self.recovered = Counter(
            "openisales_leases_recovered",
            "Attempts whose outcome never arrived (lease expired)",
            registry=self.registry,
        )
        self.lateness = Histogram(
            "openisales_retry_lateness_seconds",
            "Dispatch time minus scheduled time of retries",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
