"""The schema's single source of truth (SQLAlchemy Core).

Every tenant table carries ``vdn_id`` as the first column of its primary key
so that data can be sharded by tenant (``t_isl_schema``, the schema's own
state, is the one table that is not a tenant's). Migrations in ``store/migrations`` must produce
exactly these tables; ``tests/contract/test_migrations.py`` checks it on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine (SQLite stores it naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


def _vdn() -> sa.Column[int]:
    return sa.Column("vdn_id", sa.Integer, nullable=False)


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", UTCDateTime, nullable=False)


# The schema's own state (one row): the oldest release whose code can still run
# on this schema (docs/operations.md, "Upgrades"). Not a tenant table.
schema_state = sa.Table(
    "t_isl_schema",
    metadata,
    sa.Column("id", sa.SmallInteger, nullable=False, autoincrement=False),
    sa.Column("min_code_revision", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("id"),
)

vdn = sa.Table(
    "t_isl_vdn",
    metadata,
    _vdn(),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    _created(),
    sa.PrimaryKeyConstraint("vdn_id"),
)

credential = sa.Table(
    "t_isl_credential",
    metadata,
    _vdn(),
    sa.Column("ak", sa.String(64), nullable=False),
    sa.Column("sk_encrypted", sa.Text, nullable=False),
    _created(),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint("vdn_id", "ak"),
    sa.Index(None, "ak"),
)

sequence = sa.Table(
    "t_isl_sequence",
    metadata,
    _vdn(),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("next_value", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("vdn_id", "name"),
)

auth_nonce = sa.Table(
    "t_isl_auth_nonce",
    metadata,
    _vdn(),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("vdn_id", "digest"),
    sa.Index(None, "expires_at"),
)

busi_result = sa.Table(
    "t_isl_busi_result",
    metadata,
    _vdn(),
    sa.Column("def_id", sa.BigInteger, nullable=False),
    sa.Column("parent_def_id", sa.BigInteger, nullable=False),  # 0 for a top-level result
    sa.Column("def_level", sa.SmallInteger, nullable=False),
    sa.Column("code", sa.String(50), nullable=False),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    _created(),
    sa.PrimaryKeyConstraint("vdn_id", "def_id"),
    sa.UniqueConstraint("vdn_id", "parent_def_id", "code"),
)

campaign = sa.Table(
    "t_isl_campaign",
    metadata,
    _vdn(),
    sa.Column("campaign_id", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("device_type", sa.SmallInteger, nullable=False),
    sa.Column("api_version", sa.SmallInteger, nullable=False),
    sa.Column("begin_time", UTCDateTime, nullable=False),
    sa.Column("end_time", UTCDateTime, nullable=False),
    sa.Column("caller_no", sa.Text, nullable=False),  # JSON list of {accessCode, priority}
    sa.Column("max_alerting_time", sa.Integer, nullable=False),
    sa.Column("priority", sa.Integer, nullable=True),
    sa.Column("schedule_param", sa.Text, nullable=False),  # JSON object
    sa.Column("skill_param", sa.Text, nullable=True),  # JSON object, stored as given
    sa.Column("ivr_param", sa.Text, nullable=True),  # JSON object, stored as given
    sa.Column("call_policy", sa.Text, nullable=True),  # JSON object
    sa.Column("init_status", sa.SmallInteger, nullable=False),
    sa.Column("call_back_url", sa.String(1024), nullable=True),
    sa.Column("policy_type", sa.SmallInteger, nullable=True),
    sa.Column("policy_json", sa.Text, nullable=True),  # normalised JSON list
    sa.Column("no_retry_policy", sa.Text, nullable=True),  # JSON list of display codes
    sa.Column("busi_policy", sa.Text, nullable=True),  # JSON list
    sa.Column("retry_policy_updated_at", UTCDateTime, nullable=True),
    sa.Column("max_concurrency", sa.Integer, nullable=True),  # calls in progress at once
    sa.Column("gateway", sa.String(16), nullable=True),  # None = the server's default
    sa.Column("gateway_config", sa.Text, nullable=True),  # JSON object
    # the last successful add-call-data call: the next one waits calldata_min_interval_s
    sa.Column("last_calldata_at", UTCDateTime, nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("vdn_id", "campaign_id"),
    sa.UniqueConstraint("vdn_id", "name"),
)

# Data status: 0 waiting to be called, 1 being called, 2 waiting for the
# business write-back after an answered call, 3 completed.
data = sa.Table(
    "t_isl_data",
    metadata,
    _vdn(),
    sa.Column("data_id", sa.BigInteger, nullable=False),
    sa.Column("campaign_id", sa.BigInteger, nullable=False),
    sa.Column("session_id", sa.String(32), nullable=True),
    sa.Column("custom_field", sa.String(200), nullable=True),
    sa.Column("batch_id", sa.String(200), nullable=True),  # the v2 add's batchId, as given
    sa.Column("caller", sa.String(24), nullable=True),
    sa.Column("call_data", sa.Text, nullable=True),
    sa.Column("recycle_time", UTCDateTime, nullable=True),
    sa.Column("called_nos", sa.Text, nullable=False),  # JSON list of {calledNo, type}
    sa.Column("next_index", sa.Integer, nullable=False),  # number to dial next
    sa.Column("attempt_index", sa.Integer, nullable=False),  # number the last attempt dialed
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("attempt_no", sa.Integer, nullable=False),  # attempts placed so far
    sa.Column("next_call_time", UTCDateTime, nullable=True),
    # 0 scheduled (a retry, an appointment): claimed before 1, a first call
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="1"),
    sa.Column("reserved_work_no", sa.String(32), nullable=True),
    sa.Column("last_fail_code", sa.String(8), nullable=True),
    sa.Column("last_call_status", sa.SmallInteger, nullable=True),
    sa.Column("busi_result", sa.String(50), nullable=True),
    sa.Column("sub_status", sa.String(50), nullable=True),
    sa.Column("busi_result_desc", sa.Text, nullable=True),
    sa.Column("work_no", sa.String(32), nullable=True),
    sa.Column("busi_write_time", UTCDateTime, nullable=True),
    sa.Column("busi_attempt_no", sa.Integer, nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Column("day_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempt_day", sa.String(10), nullable=True),  # VDN-local yyyy-mm-dd
    sa.Column("first_attempt_day", sa.String(10), nullable=True),
    sa.Column("result_retries", sa.Text, nullable=True),  # JSON {result type: retries}
    sa.Column("last_result_code", sa.String(16), nullable=True),
    sa.Column("last_call_id", sa.String(64), nullable=True),
    sa.Column("complete_reason", sa.String(16), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("completed_at", UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint("vdn_id", "data_id"),
    # serves the claim: due records of a campaign by priority, in (next_call_time, data_id) order
    sa.Index(
        "ix_t_isl_data_claim",
        "vdn_id",
        "campaign_id",
        "status",
        "priority",
        "next_call_time",
        "data_id",
    ),
    sa.Index(None, "status", "lease_expires_at"),
    # the console's call-data search (docs/console.md), newest first: partial, so
    # that rows without the key (most imports carry no batchId) cost nothing
    *(
        sa.Index(
            None,
            "vdn_id",
            key,
            "data_id",
            postgresql_where=sa.text(f"{key} IS NOT NULL"),
            sqlite_where=sa.text(f"{key} IS NOT NULL"),
        )
        for key in ("session_id", "batch_id", "custom_field")
    ),
)

data_result = sa.Table(
    "t_isl_data_result",
    metadata,
    _vdn(),
    sa.Column("result_id", sa.BigInteger, nullable=False),
    sa.Column("data_id", sa.BigInteger, nullable=False),
    sa.Column("campaign_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # "attempt" or "busi"
    sa.Column("attempt_no", sa.Integer, nullable=False),
    sa.Column("called", sa.String(24), nullable=True),
    sa.Column("call_status", sa.SmallInteger, nullable=True),
    sa.Column("fail_code", sa.String(8), nullable=True),
    sa.Column("result_code", sa.String(16), nullable=True),
    sa.Column("call_id", sa.String(64), nullable=True),
    sa.Column("ack_begin_time", UTCDateTime, nullable=True),
    sa.Column("call_begin_time", UTCDateTime, nullable=True),
    sa.Column("call_end_time", UTCDateTime, nullable=True),
    sa.Column("busi_result", sa.String(50), nullable=True),
    sa.Column("sub_status", sa.String(50), nullable=True),
    sa.Column("busi_result_desc", sa.Text, nullable=True),
    sa.Column("work_no", sa.String(32), nullable=True),
    _created(),
    sa.PrimaryKeyConstraint("vdn_id", "result_id"),
    sa.Index(None, "vdn_id", "data_id"),
    sa.Index(None, "vdn_id", "campaign_id", "created_at"),
    sa.Index(None, "vdn_id", "called", "created_at"),  # blocklist call quotas
)

holiday = sa.Table(
    "t_isl_holiday",
    metadata,
    _vdn(),
    sa.Column("holiday_date", sa.String(10), nullable=False),  # yyyy-mm-dd, VDN-local
    sa.Column("name", sa.String(64), nullable=False),
    _created(),
    sa.PrimaryKeyConstraint("vdn_id", "holiday_date"),
)

# Display results ("外显结果", spec 2.7): a code shown to users that groups
# platform failure codes.
obs_result = sa.Table(
    "t_isl_obs_result",
    metadata,
    _vdn(),
    sa.Column("def_id", sa.BigInteger, nullable=False),
    sa.Column("result_code", sa.String(8), nullable=False),
    sa.Column("display_result", sa.String(100), nullable=False),
    _created(),
    sa.PrimaryKeyConstraint("vdn_id", "def_id"),
    sa.UniqueConstraint("vdn_id", "result_code"),
)

obs_result_map = sa.Table(
    "t_isl_obs_result_map",
    metadata,
    _vdn(),
    sa.Column("map_id", sa.BigInteger, nullable=False),
    sa.Column("def_id", sa.BigInteger, nullable=False),
    sa.Column("fail_code", sa.String(8), nullable=False),
    sa.PrimaryKeyConstraint("vdn_id", "map_id"),
    sa.UniqueConstraint("vdn_id", "fail_code"),
    sa.Index(None, "vdn_id", "def_id"),
)

blocklist = sa.Table(
    "t_isl_blocklist",
    metadata,
    _vdn(),
    sa.Column("number", sa.String(24), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),  # None = no expiry
    sa.Column("restrict_times", sa.Integer, nullable=True),
    sa.Column("restrict_period", sa.String(1), nullable=True),  # "0" hourly, "1" daily
    sa.Column("rel_category_id", sa.String(64), nullable=True),
    sa.Column("type_id", sa.String(64), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("vdn_id", "number"),
)

appointment = sa.Table(
    "t_isl_appointment",
    metadata,
    _vdn(),
    sa.Column("appoint_id", sa.BigInteger, nullable=False),
    sa.Column("campaign_id", sa.BigInteger, nullable=False),
    sa.Column("call_type", sa.SmallInteger, nullable=False),  # 1 manual, 2 automatic
    sa.Column("called_no", sa.String(24), nullable=False),
    sa.Column("work_no", sa.String(32), nullable=True),
    sa.Column("user_account", sa.String(64), nullable=True),
    sa.Column("appoint_time", UTCDateTime, nullable=False),
    sa.Column("call_data", sa.Text, nullable=True),
    sa.Column("remark", sa.String(200), nullable=True),
    sa.Column("status", sa.SmallInteger, nullable=False),  # 0 pending, 1 in progress, 2 done
    sa.Column("data_id", sa.BigInteger, nullable=True),  # the call-data record that dials it
    sa.Column("caller_no", sa.String(24), nullable=True),
    sa.Column("fail_code", sa.String(8), nullable=True),
    sa.Column("call_id", sa.String(64), nullable=True),
    sa.Column("busi_result", sa.String(50), nullable=True),
    sa.Column("busi_sub_status", sa.String(50), nullable=True),
    sa.Column("result_time", UTCDateTime, nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("vdn_id", "appoint_id"),
    sa.Index(None, "vdn_id", "status", "appoint_time"),
)

# Result pushes to a campaign's callBackUrl: written in the transaction that
# completes the record, delivered (and retried) by the pusher.
push_outbox = sa.Table(
    "t_isl_push_outbox",
    metadata,
    _vdn(),
    sa.Column("data_id", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),  # 1, 2, ... per record; pushId = dataId.seq
    sa.Column("campaign_id", sa.BigInteger, nullable=False),
    sa.Column("url", sa.String(1024), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # one record of the pushed JSON array
    sa.Column("status", sa.SmallInteger, nullable=False),  # 0 pending, 1 delivered, 2 failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    _created(),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint("vdn_id", "data_id", "seq"),
    sa.Index(None, "status", "next_attempt_at"),
)

# Call data removed with archiveHistory=1.
data_history = sa.Table(
    "t_isl_data_history",
    metadata,
    _vdn(),
    sa.Column("data_id", sa.BigInteger, nullable=False),
    sa.Column("campaign_id", sa.BigInteger, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # the t_isl_data row as JSON
    sa.Column("archived_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("vdn_id", "data_id"),
)


def data_campaign_vdn() -> sa.Join:
    """``t_isl_data`` joined with its campaign and its VDN (the usual read of a record)."""
    return data.join(
        campaign,
        sa.and_(campaign.c.vdn_id == data.c.vdn_id, campaign.c.campaign_id == data.c.campaign_id),
    ).join(vdn, vdn.c.vdn_id == data.c.vdn_id)


# ---- The operator console (docs/console.md) --------------------------------
# Operators, their sessions and the login throttle are not a tenant's: an admin
# spans every VDN. An operator is known by name.
operator = sa.Table(
    "t_isl_operator",
    metadata,
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=False),  # argon2id, PHC string
    sa.Column("role", sa.String(16), nullable=False),  # admin | supervisor | viewer
    sa.Column("disabled_at", UTCDateTime, nullable=True),
    sa.Column("password_changed_at", UTCDateTime, nullable=False),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("name"),
)

# The VDNs a supervisor or viewer may see (an admin sees every VDN).
operator_vdn = sa.Table(
    "t_isl_operator_vdn",
    metadata,
    sa.Column("name", sa.String(64), nullable=False),
    _vdn(),
    sa.PrimaryKeyConstraint("name", "vdn_id"),
)

# A console session: the cookie carries a signed random token, the table its
# SHA-256 (a stolen table opens no session).
console_session = sa.Table(
    "t_isl_console_session",
    metadata,
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("operator", sa.String(64), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=True),
    _created(),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),  # the absolute expiry
    sa.PrimaryKeyConstraint("token_hash"),
    sa.Index(None, "operator"),
    sa.Index(None, "expires_at"),
)

# Failed console logins in the current window, per account and per address.
login_throttle = sa.Table(
    "t_isl_login_throttle",
    metadata,
    sa.Column("scope", sa.String(8), nullable=False),  # "account" | "address"
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("window_start", UTCDateTime, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("scope", "key"),
)

# Every change made through the console, the API or the CLI (docs/console.md,
# "Audit log"). vdn_id is None for a change that is no tenant's (operators).
audit = sa.Table(
    "t_isl_audit",
    metadata,
    sa.Column(
        "audit_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        nullable=False,
        autoincrement=True,
    ),
    sa.Column("vdn_id", sa.Integer, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),  # operator:NAME | ak:AK | cli
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("before", sa.Text, nullable=True),  # JSON
    sa.Column("after", sa.Text, nullable=True),  # JSON
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.PrimaryKeyConstraint("audit_id"),
    sa.Index(None, "vdn_id", "at"),
    sa.Index(None, "at"),
)

# Call-data imports started from the console (docs/console.md, "Import"): one
# row per upload, its progress while it runs (PostgreSQL: refreshed every few
# seconds, so that every server process can show it) and its outcome.
import_job = sa.Table(
    "t_isl_import_job",
    metadata,
    _vdn(),
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("campaign_id", sa.BigInteger, nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),  # operator:NAME
    sa.Column("version", sa.SmallInteger, nullable=False),  # the v1 or v2 rules
    sa.Column("mode", sa.String(16), nullable=False),  # all | skip-bad | check
    sa.Column("status", sa.String(16), nullable=False),  # running | done | failed
    sa.Column("phase", sa.String(32), nullable=False),
    sa.Column("progress_done", sa.BigInteger, nullable=False),
    sa.Column("progress_total", sa.BigInteger, nullable=False),
    sa.Column("rows_read", sa.Integer, nullable=False),
    sa.Column("rows_valid", sa.Integer, nullable=False),
    sa.Column("rows_loaded", sa.Integer, nullable=False),
    sa.Column("rows_refused", sa.Integer, nullable=False),
    sa.Column("result_code", sa.String(16), nullable=True),
    sa.Column("result_desc", sa.String(500), nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),  # the heartbeat while running
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint("vdn_id", "job_id"),
)

# The rows an import refused, with their reasons (the rejects CSV).
import_reject = sa.Table(
    "t_isl_import_reject",
    metadata,
    _vdn(),
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("code", sa.String(16), nullable=False),
    sa.Column("message", sa.String(500), nullable=False),
    sa.PrimaryKeyConstraint("vdn_id", "job_id", "line"),
)
