"""Settings: one frozen value, read from an injected mapping and validated once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from openisales.auth.signing import PROFILES, Profile

PREFIX = "OPENISALES_"
_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "master-key", "xxx"}


class ConfigError(ValueError):
    """A setting is missing or invalid."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"not a boolean: {value!r}")


@dataclass(frozen=True)
class Settings:
    """Everything the server, worker and CLI need, with production defaults.

    ``database_url`` empty means the embedded SQLite database in ``data_dir``.
    """

    data_dir: Path = Path("openisales-data")
    database_url: str = ""
    master_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8443
    tls: bool = True
    tls_cert: str = ""
    tls_key: str = ""
    workers: int = 1
    signature_window_s: int = 900
    signing_profiles: tuple[Profile, ...] = PROFILES
    # "memory" (per process), "database" (shared) or "" (automatic: see effective_replay_guard)
    replay_guard: str = ""
    credential_cache_s: float = 5.0
    # C2 request limits, checked before any look-up (docs/signing.md)
    auth_max_header_length: int = 4096
    auth_max_ak_length: int = 128
    auth_max_signed_headers: int = 64
    # the cache of AKs that were looked up and not found, bounded both ways
    unknown_ak_cache_entries: int = 10_000
    unknown_ak_cache_bytes: int = 1_048_576
    # PostgreSQL connections per process: a fixed pool, grown on demand and kept
    # (docs/operations.md); a request waits up to db_pool_timeout_s for one.
    db_pool_size: int = 20
    db_pool_overflow: int = 0
    db_pool_timeout_s: float = 10.0
    max_body_bytes: int = 1_048_576
    # the HTTP server's own limits, per API process (docs/security.md, decision 0006)
    max_header_bytes: int = 16_384  # request line and header fields together
    max_headers: int = 100
    header_timeout_s: float = 10.0  # to receive a whole request head
    body_timeout_s: float = 30.0  # to receive a whole body, from the end of its head
    keepalive_timeout_s: float = 5.0  # idle between a response and the next request
    max_connections: int = 1000  # more are answered 503 and closed
    backlog: int = 2048
    # Prometheus metrics on their own listener (0: none); never on the API port
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    calldata_max_per_request: int = 20
    max_unfinished_per_campaign: int = 200_000
    # add-call-data calls to one campaign at least this far apart (0200022); 0: no limit
    calldata_min_interval_s: float = 1.0
    max_caller_nos_per_campaign: int = 100  # a campaign's calling numbers, all adds together
    log_level: str = "info"
    log_format: str = "json"  # "json" or "text"
    # dialing engine
    worker: bool | None = None  # run the dispatcher inside `serve` (default: embedded only)
    gateway: str = ""  # default gateway of campaigns that name none: "", simulator, webhook
    webhook_url: str = ""
    webhook_ak: str = ""
    webhook_sk: str = ""
    lease_s: int = 120
    result_wait_s: int = 600
    reservation_fallback_s: int = 300  # 0 = a reserved retry never falls back to any agent
    common_retry_interval_s: int = 600
    claim_batch: int = 500
    default_concurrency: int = 100
    # result push (docs/push.md)
    push_max_pushes: int = 6
    push_retry_interval_s: int = 600
    push_batch_size: int = 100
    push_lease_s: int = 60
    push_timeout_s: float = 10.0
    push_max_in_flight: int = 100  # POSTs in flight per pusher, all callBackUrls
    push_max_per_destination: int = 2  # POSTs in flight per pusher to one callBackUrl
    push_circuit_failures: int = 5  # failed POSTs in a row that hold a callBackUrl back; 0 never
    push_circuit_open_s: int = 60
    push_ak: str = ""
    push_sk: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return not self.database_url or self.database_url.startswith("sqlite")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'openisales.db').resolve()}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``OPENISALES_*`` variables, then apply non-None overrides."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(PREFIX + name)

        values: dict[str, Any] = {}
        if (v := get("DATA_DIR")) is not None:
            values["data_dir"] = Path(v)
        for key, name in [
            ("database_url", "DATABASE_URL"),
            ("master_key", "MASTER_KEY"),
            ("host", "HOST"),
            ("metrics_host", "METRICS_HOST"),
            ("tls_cert", "TLS_CERT"),
            ("tls_key", "TLS_KEY"),
            ("replay_guard", "REPLAY_GUARD"),
            ("log_level", "LOG_LEVEL"),
            ("log_format", "LOG_FORMAT"),
            ("gateway", "GATEWAY"),
            ("webhook_url", "WEBHOOK_URL"),
            ("webhook_ak", "WEBHOOK_AK"),
            ("webhook_sk", "WEBHOOK_SK"),
            ("push_ak", "PUSH_AK"),
            ("push_sk", "PUSH_SK"),
        ]:
            if (v := get(name)) is not None:
                values[key] = v
        for key, name in [
            ("port", "PORT"),
            ("workers", "WORKERS"),
            ("signature_window_s", "SIGNATURE_WINDOW_S"),
            ("max_body_bytes", "MAX_BODY_BYTES"),
            ("max_header_bytes", "MAX_HEADER_BYTES"),
            ("max_headers", "MAX_HEADERS"),
            ("max_connections", "MAX_CONNECTIONS"),
            ("backlog", "BACKLOG"),
            ("metrics_port", "METRICS_PORT"),
            ("calldata_max_per_request", "CALLDATA_MAX_PER_REQUEST"),
            ("max_unfinished_per_campaign", "MAX_UNFINISHED_PER_CAMPAIGN"),
            ("max_caller_nos_per_campaign", "MAX_CALLER_NOS_PER_CAMPAIGN"),
            ("lease_s", "LEASE_S"),
            ("result_wait_s", "RESULT_WAIT_S"),
            ("reservation_fallback_s", "RESERVATION_FALLBACK_S"),
            ("common_retry_interval_s", "COMMON_RETRY_INTERVAL_S"),
            ("claim_batch", "CLAIM_BATCH"),
            ("default_concurrency", "DEFAULT_CONCURRENCY"),
            ("push_max_pushes", "PUSH_MAX_PUSHES"),
            ("push_retry_interval_s", "PUSH_RETRY_INTERVAL_S"),
            ("push_batch_size", "PUSH_BATCH_SIZE"),
            ("push_lease_s", "PUSH_LEASE_S"),
            ("push_max_in_flight", "PUSH_MAX_IN_FLIGHT"),
            ("push_max_per_destination", "PUSH_MAX_PER_DESTINATION"),
            ("push_circuit_failures", "PUSH_CIRCUIT_FAILURES"),
            ("push_circuit_open_s", "PUSH_CIRCUIT_OPEN_S"),
            ("db_pool_size", "DB_POOL_SIZE"),
            ("db_pool_overflow", "DB_POOL_OVERFLOW"),
            ("auth_max_header_length", "AUTH_MAX_HEADER_LENGTH"),
            ("auth_max_ak_length", "AUTH_MAX_AK_LENGTH"),
            ("auth_max_signed_headers", "AUTH_MAX_SIGNED_HEADERS"),
            ("unknown_ak_cache_entries", "UNKNOWN_AK_CACHE_ENTRIES"),
            ("unknown_ak_cache_bytes", "UNKNOWN_AK_CACHE_BYTES"),
        ]:
            if (v := get(name)) is not None:
                try:
                    values[key] = int(v)
                except ValueError as exc:
                    raise ConfigError(f"{PREFIX}{name} must be an integer") from exc
        for key, name in [
            ("push_timeout_s", "PUSH_TIMEOUT_S"),
            ("calldata_min_interval_s", "CALLDATA_MIN_INTERVAL_S"),
            ("credential_cache_s", "CREDENTIAL_CACHE_S"),
            ("db_pool_timeout_s", "DB_POOL_TIMEOUT_S"),
            ("header_timeout_s", "HEADER_TIMEOUT_S"),
            ("body_timeout_s", "BODY_TIMEOUT_S"),
            ("keepalive_timeout_s", "KEEPALIVE_TIMEOUT_S"),
        ]:
            if (v := get(name)) is not None:
                try:
                    values[key] = float(v)
                except ValueError as exc:
                    raise ConfigError(f"{PREFIX}{name} must be a number") from exc
        if (v := get("TLS")) is not None:
            values["tls"] = _bool(v)
        if (v := get("WORKER")) is not None:
            values["worker"] = _bool(v)
        if (v := get("SIGNING_PROFILES")) is not None:
            values["signing_profiles"] = tuple(p.strip() for p in v.split(",") if p.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def evolve(self, **changes: Any) -> Settings:
        new = replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        if self.master_key.strip().lower() in _PLACEHOLDERS - {""}:
            raise ConfigError("OPENISALES_MASTER_KEY is a placeholder; generate a real key")
        if self.workers < 1:
            raise ConfigError("OPENISALES_WORKERS must be positive")
        if not self.embedded and not self.master_key:
            raise ConfigError("OPENISALES_MASTER_KEY is required with an external database")
        if not self.signing_profiles or any(p not in PROFILES for p in self.signing_profiles):
            raise ConfigError(f"signing profiles must be a subset of {PROFILES}")
        if self.replay_guard not in {"", "memory", "database"}:
            raise ConfigError("OPENISALES_REPLAY_GUARD must be empty, 'memory' or 'database'")
        if self.auth_max_ak_length < 64:
            raise ConfigError(
                "OPENISALES_AUTH_MAX_AK_LENGTH must be at least 64 (the longest AK a key can have)"
            )
        if self.auth_max_header_length < 256 + self.auth_max_ak_length:
            raise ConfigError(
                "OPENISALES_AUTH_MAX_HEADER_LENGTH must be at least 256 more than "
                "_AUTH_MAX_AK_LENGTH"
            )
        if self.auth_max_signed_headers < 3:
            raise ConfigError(
                "OPENISALES_AUTH_MAX_SIGNED_HEADERS must be at least 3 "
                "(content-length;content-type;host)"
            )
        if self.unknown_ak_cache_entries < 0 or self.unknown_ak_cache_bytes < 0:
            raise ConfigError("OPENISALES_UNKNOWN_AK_CACHE_ENTRIES and _BYTES must not be negative")
        if self.signature_window_s < 1:
            raise ConfigError("OPENISALES_SIGNATURE_WINDOW_S must be positive")
        if self.max_body_bytes < 1024:
            raise ConfigError("OPENISALES_MAX_BODY_BYTES must be at least 1024")
        if not 1 <= self.calldata_max_per_request <= 10_000:
            raise ConfigError("OPENISALES_CALLDATA_MAX_PER_REQUEST must be within 1..10000")
        if not 0 <= self.calldata_min_interval_s <= 3600:
            raise ConfigError("OPENISALES_CALLDATA_MIN_INTERVAL_S must be within 0..3600")
        if not 1 <= self.max_caller_nos_per_campaign <= 10_000:
            raise ConfigError("OPENISALES_MAX_CALLER_NOS_PER_CAMPAIGN must be within 1..10000")
        if self.tls and bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("--tls-cert and --tls-key go together")
        if self.gateway not in {"", "simulator", "webhook"}:
            raise ConfigError("OPENISALES_GATEWAY must be empty, 'simulator' or 'webhook'")
        if self.webhook_sk and self.webhook_sk.strip().lower() in _PLACEHOLDERS:
            raise ConfigError("OPENISALES_WEBHOOK_SK is a placeholder")
        if bool(self.webhook_ak) != bool(self.webhook_sk):
            raise ConfigError("OPENISALES_WEBHOOK_AK and OPENISALES_WEBHOOK_SK go together")
        if not 1024 <= self.max_header_bytes <= 1_048_576 or not 8 <= self.max_headers <= 10_000:
            raise ConfigError(
                "OPENISALES_MAX_HEADER_BYTES must be within 1024..1048576 "
                "and OPENISALES_MAX_HEADERS within 8..10000"
            )
        for name in ("header_timeout_s", "body_timeout_s", "keepalive_timeout_s"):
            if not 0 < getattr(self, name) <= 3600:
                raise ConfigError(f"OPENISALES_{name.upper()} must be positive and at most 3600")
        if self.max_connections < 1 or self.backlog < 1:
            raise ConfigError("OPENISALES_MAX_CONNECTIONS and OPENISALES_BACKLOG must be positive")
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError("OPENISALES_METRICS_PORT must be within 0..65535 (0: no listener)")
        if self.log_format not in {"json", "text"}:
            raise ConfigError("OPENISALES_LOG_FORMAT must be 'json' or 'text'")
        if self.push_sk and self.push_sk.strip().lower() in _PLACEHOLDERS:
            raise ConfigError("OPENISALES_PUSH_SK is a placeholder")
        if bool(self.push_ak) != bool(self.push_sk):
            raise ConfigError("OPENISALES_PUSH_AK and OPENISALES_PUSH_SK go together")
        if self.push_max_pushes < 1 or self.push_batch_size < 1 or self.push_retry_interval_s < 0:
            raise ConfigError("OPENISALES_PUSH_MAX_PUSHES and _BATCH_SIZE must be positive")
        if not 0 < self.push_timeout_s < self.push_lease_s:
            raise ConfigError("OPENISALES_PUSH_TIMEOUT_S must be positive and below _PUSH_LEASE_S")
        if not 1 <= self.push_max_per_destination <= self.push_max_in_flight <= 10_000:
            raise ConfigError(
                "need 1 <= OPENISALES_PUSH_MAX_PER_DESTINATION <= "
                "OPENISALES_PUSH_MAX_IN_FLIGHT <= 10000"
            )
        if self.push_circuit_failures < 0 or self.push_circuit_open_s < 1:
            raise ConfigError(
                "OPENISALES_PUSH_CIRCUIT_FAILURES must not be negative "
                "and OPENISALES_PUSH_CIRCUIT_OPEN_S must be positive"
            )
        if self.db_pool_size < 1 or self.db_pool_overflow < 0 or not self.db_pool_timeout_s > 0:
            raise ConfigError(
                "OPENISALES_DB_POOL_SIZE must be positive, _DB_POOL_OVERFLOW not negative "
                "and _DB_POOL_TIMEOUT_S positive"
            )
        for name in ("lease_s", "result_wait_s", "claim_batch", "default_concurrency"):
            if getattr(self, name) < 1:
                raise ConfigError(f"OPENISALES_{name.upper()} must be positive")

    def check_serve(self) -> None:
        """What only ``serve`` needs: several API processes need PostgreSQL and a shared guard."""
        if self.embedded and self.workers > 1:
            raise ConfigError(
                "the embedded SQLite database has one writer: serve it with one worker, "
                "or use PostgreSQL for several"
            )
        if self.replay_guard == "memory" and self.workers > 1:
            raise ConfigError(
                "OPENISALES_REPLAY_GUARD=memory protects one process only: with several "
                "workers a replay sent to another worker would be accepted; use 'database'"
            )
        if self.metrics_port and self.metrics_port == self.port:
            raise ConfigError("OPENISALES_METRICS_PORT must differ from the API port")

    @property
    def effective_replay_guard(self) -> str:
        """The replay guard's kind: as set, else "database" with PostgreSQL or several workers.

        Only the embedded database served by one process defaults to "memory".
        """
        if self.replay_guard:
            return self.replay_guard
        return "memory" if self.embedded and self.workers == 1 else "database"

    @property
    def run_worker(self) -> bool:
        """Whether ``serve`` also runs the dispatcher."""
        return self.embedded if self.worker is None else self.worker


def normalise_database_url(url: str) -> str:
    """Map plain ``postgresql://`` and ``sqlite://`` URLs to their async drivers."""
    for plain, driver in [
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ]:
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url
