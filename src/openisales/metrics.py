"""Prometheus metrics, served at ``/metrics``.

One registry per process. ``serve --workers N`` (N > 1) points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before its workers start:
each worker then keeps its values in files there, and ``/metrics``, whichever
worker answers it, adds up all of them (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


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

        self.writeback_batch = Histogram(
            "openisales_writeback_batch_size",
            "Write-backs per batched statement on PostgreSQL (read, write)",
            ["statement"],
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.writeback_locking = Counter(
            "openisales_writeback_locking_path",
            "Write-backs that took the locking path instead of the batched one, by reason",
            ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        if os.environ.get(MULTIPROC_ENV):
            every_process = CollectorRegistry()
            multiprocess.MultiProcessCollector(every_process)  # type: ignore[no-untyped-call]
            return generate_latest(every_process)
        return generate_latest(self.registry)
