"""The server limits' settings, the connection cap's fit to descriptors, private files."""

from __future__ import annotations

import logging
import os
import pickle
import stat
from pathlib import Path
from typing import Any

import pytest

from openisales.api.limits import BODY_TIMED_OUT, BodyTimeouts, raw_response
from openisales.cli.protocol import RESERVED_DESCRIPTORS, ServerLimits, _Throttled
from openisales.config import ConfigError, Settings
from openisales.errors import OpenISalesError, RequestTimeout, Unavailable
from openisales.files import create_private_file, private_dir, private_file


def test_the_limits_have_documented_defaults_and_come_from_the_environment() -> None:
    settings = Settings.from_env({})
    assert (settings.max_header_bytes, settings.max_headers) == (16_384, 100)
    assert (settings.header_timeout_s, settings.body_timeout_s) == (10.0, 30.0)
    assert (settings.keepalive_timeout_s, settings.max_connections) == (5.0, 1000)
    assert (settings.backlog, settings.metrics_host, settings.metrics_port) == (
        2048,
        "127.0.0.1",
        0,
    )
    settings = Settings.from_env(
        {
            "OPENISALES_MAX_HEADER_BYTES": "8192",
            "OPENISALES_MAX_HEADERS": "50",
            "OPENISALES_HEADER_TIMEOUT_S": "2.5",
            "OPENISALES_BODY_TIMEOUT_S": "7",
            "OPENISALES_KEEPALIVE_TIMEOUT_S": "1",
            "OPENISALES_MAX_CONNECTIONS": "10",
            "OPENISALES_BACKLOG": "64",
            "OPENISALES_METRICS_HOST": "10.0.0.5",
            "OPENISALES_METRICS_PORT": "9464",
        }
    )
    assert ServerLimits.from_settings(settings) == ServerLimits(8192, 50, 2.5, 7.0, 1.0, 10)
    assert (settings.backlog, settings.metrics_host, settings.metrics_port) == (
        64,
        "10.0.0.5",
        9464,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_HEADER_BYTES", "100"),
        ("MAX_HEADERS", "2"),
        ("HEADER_TIMEOUT_S", "0"),
        ("BODY_TIMEOUT_S", "-1"),
        ("KEEPALIVE_TIMEOUT_S", "99999"),
        ("MAX_CONNECTIONS", "0"),
        ("BACKLOG", "0"),
        ("METRICS_PORT", "70000"),
    ],
)
def test_unusable_limits_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({f"OPENISALES_{name}": value})


def test_the_metrics_listener_cannot_take_the_api_port() -> None:
    with pytest.raises(ConfigError, match="METRICS_PORT"):
        Settings.from_env({"OPENISALES_METRICS_PORT": "8443"}).check_serve()


def test_the_connection_cap_leaves_room_for_the_process_own_descriptors() -> None:
    settings = Settings.from_env({})
    assert ServerLimits.from_settings(settings, descriptors=1 << 20).max_connections == 1000
    fitted = ServerLimits.from_settings(settings, descriptors=1024).max_connections
    assert fitted == 1024 - RESERVED_DESCRIPTORS - settings.db_pool_size
    assert ServerLimits.from_settings(settings, descriptors=10).max_connections == 1


def test_the_protocol_factory_survives_the_trip_to_a_spawned_worker() -> None:
    factory: Any = ServerLimits(max_connections=7).protocol()
    again = pickle.loads(pickle.dumps(factory))
    assert again.keywords["limits"] == ServerLimits(max_connections=7)


def test_a_refusal_is_a_complete_response_with_the_envelope() -> None:
    raw = raw_response(Unavailable("too many connections; retry later"))
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"connection: close" in head and f"content-length: {len(body)}".encode() in head
    assert body.startswith(b'{"resultCode":"0200503","resultDesc":"too many connections')


def test_refusals_are_logged_once_per_interval_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    throttled = _Throttled(interval_s=3600)
    with caplog.at_level(logging.WARNING, "openisales.server"):
        for _ in range(5):
            throttled.warn("head", "request head refused")
        throttled.warn("connections", "connection refused")
    assert [r.getMessage() for r in caplog.records] == [
        "request head refused (1 since the last such warning)",
        "connection refused (1 since the last such warning)",
    ]


async def _call(app: BodyTimeouts, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}  # as the protocol wakes a reader it cut off

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def _reads_body(scope: Any, receive: Any, send: Any) -> None:
    """As an operation does: read the body; an OpenISalesError becomes its answer."""
    try:
        status = 499 if (await receive())["type"] == "http.disconnect" else 200
    except OpenISalesError as exc:
        status = exc.http_status
    await send({"type": "http.response.start", "status": status, "headers": []})


async def test_a_disconnect_for_a_late_body_is_the_operation_own_408() -> None:
    scope = {"type": "http", "extensions": {BODY_TIMED_OUT: True}}
    sent = await _call(BodyTimeouts(_reads_body), scope)
    assert sent[0]["status"] == RequestTimeout.http_status == 408


async def test_any_other_disconnect_passes_through() -> None:
    sent = await _call(BodyTimeouts(_reads_body), {"type": "http"})
    assert sent[0]["status"] == 499


def test_private_files_and_directories_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        data = private_dir(tmp_path / "a" / "data")
        os.close(create_private_file(data / "key", exclusive=True))
        (data / "wide").write_text("x")
        (data / "wide").chmod(0o666)
        private_file(data / "wide")
        private_file(data / "missing")  # nothing to do
        data.chmod(0o755)
        private_dir(data)
    finally:
        os.umask(old)

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert (mode(data), mode(data / "key"), mode(data / "wide")) == (0o700, 0o600, 0o600)
