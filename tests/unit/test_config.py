from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from openisales import config
from openisales.config import ConfigError, Settings, normalise_database_url


def test_defaults_are_the_embedded_database() -> None:
    settings = Settings.from_env({})
    assert settings.embedded
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("openisales-data/openisales.db")
    assert settings.tls and settings.signing_profiles == ("hex", "base64")


def test_values_come_from_the_given_mapping_only() -> None:
    settings = Settings.from_env(
        {
            "OPENISALES_DATA_DIR": "/var/lib/x",
            "OPENISALES_PORT": "9000",
            "OPENISALES_TLS": "off",
            "OPENISALES_SIGNING_PROFILES": "hex",
            "OPENISALES_SIGNATURE_WINDOW_S": "60",
        }
    )
    assert settings.data_dir == Path("/var/lib/x")
    assert settings.port == 9000 and not settings.tls
    assert settings.signing_profiles == ("hex",)
    assert settings.signature_window_s == 60


def test_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env({"OPENISALES_PORT": "9000"}, port=9100, host=None)
    assert settings.port == 9100 and settings.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENISALES_PORT": "x"}, "integer"),
        ({"OPENISALES_DATABASE_URL": "postgresql://db/x"}, "MASTER_KEY is required"),
        ({"OPENISALES_MASTER_KEY": "changeme"}, "placeholder"),
        ({"OPENISALES_SIGNING_PROFILES": "md5"}, "subset"),
        ({"OPENISALES_REPLAY_GUARD": "redis"}, "REPLAY_GUARD"),
        ({"OPENISALES_TLS": "maybe"}, "boolean"),
        ({"OPENISALES_MAX_BODY_BYTES": "10"}, "MAX_BODY_BYTES"),
        ({"OPENISALES_TLS_CERT": "/c.pem"}, "go together"),
        ({"OPENISALES_WORKERS": "0"}, "WORKERS must be positive"),
        ({"OPENISALES_DB_POOL_SIZE": "0"}, "DB_POOL_SIZE"),
        ({"OPENISALES_DB_POOL_OVERFLOW": "-1"}, "DB_POOL_OVERFLOW"),
        ({"OPENISALES_DB_POOL_TIMEOUT_S": "0"}, "DB_POOL_TIMEOUT_S"),
        ({"OPENISALES_DB_POOL_TIMEOUT_S": "soon"}, "must be a number"),
        ({"OPENISALES_AUTH_MAX_AK_LENGTH": "63"}, "AUTH_MAX_AK_LENGTH must be at least 64"),
        ({"OPENISALES_AUTH_MAX_HEADER_LENGTH": "383"}, "AUTH_MAX_HEADER_LENGTH"),
        ({"OPENISALES_AUTH_MAX_SIGNED_HEADERS": "2"}, "AUTH_MAX_SIGNED_HEADERS"),
        ({"OPENISALES_AUTH_MAX_SIGNED_HEADERS": "many"}, "must be an integer"),
        ({"OPENISALES_UNKNOWN_AK_CACHE_ENTRIES": "-1"}, "UNKNOWN_AK_CACHE_ENTRIES"),
        ({"OPENISALES_UNKNOWN_AK_CACHE_BYTES": "-1"}, "_BYTES must not be negative"),
    ],
)
def test_invalid_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_pool_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "OPENISALES_DB_POOL_SIZE": "32",
            "OPENISALES_DB_POOL_OVERFLOW": "4",
            "OPENISALES_DB_POOL_TIMEOUT_S": "2.5",
        }
    )
    assert (settings.db_pool_size, settings.db_pool_overflow) == (32, 4)
    assert settings.db_pool_timeout_s == 2.5
    defaults = Settings.from_env({})
    assert (defaults.db_pool_size, defaults.db_pool_overflow) == (20, 0)


def test_several_api_processes_need_postgresql() -> None:
    embedded = Settings.from_env({"OPENISALES_WORKERS": "2"})  # fine for every other command
    with pytest.raises(ConfigError, match="one writer"):
        embedded.check_serve()
    Settings.from_env(
        {
            "OPENISALES_WORKERS": "4",
            "OPENISALES_DATABASE_URL": "postgresql://db/x",
            "OPENISALES_MASTER_KEY": "k" * 44,
        }
    ).check_serve()


def test_database_urls_get_their_async_driver() -> None:
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalise_database_url("postgresql+asyncpg://h/d") == "postgresql+asyncpg://h/d"


def test_request_limits_have_documented_defaults_and_come_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert (
        defaults.auth_max_header_length,
        defaults.auth_max_ak_length,
        defaults.auth_max_signed_headers,
        defaults.unknown_ak_cache_entries,
        defaults.unknown_ak_cache_bytes,
    ) == (4096, 128, 64, 10_000, 1_048_576)
    settings = Settings.from_env(
        {
            "OPENISALES_AUTH_MAX_HEADER_LENGTH": "2048",
            "OPENISALES_AUTH_MAX_AK_LENGTH": "64",
            "OPENISALES_AUTH_MAX_SIGNED_HEADERS": "8",
            "OPENISALES_UNKNOWN_AK_CACHE_ENTRIES": "0",
            "OPENISALES_UNKNOWN_AK_CACHE_BYTES": "4096",
        }
    )
    assert settings.auth_max_header_length == 2048 and settings.auth_max_ak_length == 64
    assert settings.auth_max_signed_headers == 8
    assert (settings.unknown_ak_cache_entries, settings.unknown_ak_cache_bytes) == (0, 4096)


PG = {"OPENISALES_DATABASE_URL": "postgresql://db/x", "OPENISALES_MASTER_KEY": "k" * 44}


@pytest.mark.parametrize(
    ("env", "guard"),
    [
        ({}, "memory"),  # the embedded database, one process
        (PG, "database"),
        ({**PG, "OPENISALES_WORKERS": "4"}, "database"),
        ({"OPENISALES_WORKERS": "2"}, "database"),
        ({**PG, "OPENISALES_REPLAY_GUARD": "memory"}, "memory"),
        ({"OPENISALES_REPLAY_GUARD": "database"}, "database"),
        ({"OPENISALES_REPLAY_GUARD": ""}, "memory"),
    ],
)
def test_the_replay_guard_is_shared_by_default_whenever_several_processes_may_serve(
    env: dict[str, str], guard: str
) -> None:
    assert Settings.from_env(env).effective_replay_guard == guard


def test_serve_refuses_a_per_process_replay_guard_with_several_workers() -> None:
    settings = Settings.from_env({**PG, "OPENISALES_REPLAY_GUARD": "memory"})
    settings.check_serve()  # one process: its own memory is enough
    several = settings.evolve(workers=2)  # as `serve --workers 2` makes it
    with pytest.raises(ConfigError, match="REPLAY_GUARD=memory protects one process only") as info:
        several.check_serve()
    assert "\n" not in str(info.value)
    Settings.from_env({**PG, "OPENISALES_WORKERS": "2"}).check_serve()  # the default is shared


# --- the one declaration (issue 12) ---------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_the_settings_table_of_operations_md_is_generated_from_the_declaration() -> None:
    text = DOC.read_text()
    assert config.replace_table(text) == text, (
        "the settings table of docs/operations.md is stale: run "
        "`python -m openisales.config --update docs/operations.md`"
    )
    for spec in config.SPECS:  # every variable by its full name
        assert f"| `{spec.env}` |" in text


def test_every_field_but_extra_is_a_declared_setting_named_after_it() -> None:
    names = [f.name for f in fields(Settings) if f.name != "extra"]
    assert [spec.name for spec in config.SPECS] == names
    assert all(spec.env == "OPENISALES_" + spec.name.upper() for spec in config.SPECS)
    assert all(spec.help for spec in config.SPECS)


def test_every_declared_default_passes_its_own_rule() -> None:
    defaults = Settings()
    for spec in config.SPECS:
        assert getattr(defaults, spec.name) == spec.default
        spec.check(spec.default)


def test_a_value_from_the_environment_parses_to_the_declared_type() -> None:
    settings = Settings.from_env(
        {
            "OPENISALES_WORKER": "yes",
            "OPENISALES_PUSH_TIMEOUT_S": "2.5",
            "OPENISALES_LOG_LEVEL": "WARNING",
            "OPENISALES_GATEWAY": " Simulator ",
            "OPENISALES_WEBHOOK_URL": "https://cti.example/Tasks",
        }
    )
    assert settings.worker is True and settings.push_timeout_s == 2.5
    assert settings.log_level == "warning" and settings.gateway == "simulator"
    assert settings.webhook_url == "https://cti.example/Tasks"  # text is kept as given
    assert Settings.from_env({"OPENISALES_WORKER": ""}).worker is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENISALES_PORT": "0"}, "OPENISALES_PORT must be within 1..65535"),
        ({"OPENISALES_PORT": "x"}, "OPENISALES_PORT must be an integer, not 'x'"),
        ({"OPENISALES_LOG_LEVEL": "loud"}, "LOG_LEVEL must be 'debug', 'info', 'warning', 'error'"),
        (
            {"OPENISALES_GATEWAY": "sip"},
            "OPENISALES_GATEWAY must be empty, 'simulator' or 'webhook'",
        ),
        ({"OPENISALES_WORKER": "perhaps"}, "OPENISALES_WORKER must be a boolean"),
        (
            {"OPENISALES_HEADER_TIMEOUT_S": "0"},
            "HEADER_TIMEOUT_S must be positive and at most 3600",
        ),
        ({"OPENISALES_CREDENTIAL_CACHE_S": "-1"}, "CREDENTIAL_CACHE_S must not be negative"),
        ({"OPENISALES_PUSH_TIMEOUT_S": "0"}, "OPENISALES_PUSH_TIMEOUT_S must be positive"),
        ({"OPENISALES_PUSH_TIMEOUT_S": "60"}, "PUSH_TIMEOUT_S must be positive and below"),
        ({"OPENISALES_PUSH_MAX_PER_DESTINATION": "101"}, "need 1 <= OPENISALES_PUSH_MAX_PER"),
        ({"OPENISALES_METRICS_PORT": "70000"}, "METRICS_PORT must be within 0..65535 (0: no"),
    ],
)
def test_each_setting_is_checked_by_its_declared_rule(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.from_env(env)


def test_the_generator_prints_or_updates_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert config.main([]) == 0
    assert capsys.readouterr().out == config.render_markdown()
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\n{config.BEGIN}\nold\n{config.END}\n\nafter\n")
    assert config.main(["--update", str(page)]) == 0
    assert page.read_text() == f"# Title\n\n{config.render_markdown()}\nafter\n"
    assert config.main(["--bogus"]) == 2
    with pytest.raises(ValueError, match="markers are missing"):
        config.replace_table("no table here")
