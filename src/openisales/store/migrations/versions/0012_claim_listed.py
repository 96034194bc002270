"""the claim says which claimed numbers have a blocklist entry (PostgreSQL, not Citus)

``isl_claim`` (migration 0011) gains a last column, ``listed``: for a claimed
record, whether the number its attempt calls has an entry in the VDN's
blocklist that has not expired at the claim's time. The dispatcher asks the
blocklist's rule (``services.blocklist.blocked``) about those numbers only,
so a claim with none of them listed is handed to the gateway without the
blocklist's round trip. ``listed`` is a superset of what the rule blocks
(an entry must be active to block), so nothing blocked is ever called.

The columns before ``listed`` are 0011's, in 0011's order, so code of 0011
reads the new function's rows as it read the old one's (it takes the
columns by position and ignores the trailing one): an expand-only
migration. The return type changes, so the function is dropped and created
again in the migration's transaction. A session of older code that had
prepared the call fails its next claim once (asyncpg's
``InvalidCachedStatementError``: the function's result type changed) and
prepares it again; the dispatcher logs that round as failed and claims in
the next.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from typing import Any

from alembic import context, op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
contract = False  # expand only: 0011's code reads the function's first columns (above)

SIGNATURE = (
    "isl_claim(integer, bigint, integer, integer, boolean, varchar, timestamptz, "
    "timestamptz, varchar, varchar[], timestamptz)"
)

CREATE = """
CREATE OR REPLACE FUNCTION isl_claim(
    p_vdn_id integer,
    p_campaign_id bigint,
    p_cap integer,
    p_batch integer,
    p_first_calls boolean,
    p_worker varchar,
    p_now timestamptz,
    p_lease_until timestamptz,
    p_today varchar,
    p_agents varchar[],
    p_fallback_before timestamptz
) RETURNS TABLE (
    vdn_id integer,
    data_id bigint,
    campaign_id bigint,
    status smallint,
    attempt_no integer,
    attempt_index integer,
    called_nos text,
    caller varchar,
    call_data text,
    reserved_work_no varchar,
    next_call_time timestamptz,
    claim_state smallint,
    claim_limit integer,
    listed boolean
) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_status smallint;
    v_limit integer;
    v_got integer := 0;
    v_rows integer;
    v_priority smallint;
BEGIN
    SELECT c.status INTO v_status FROM t_isl_campaign c
     WHERE c.vdn_id = p_vdn_id AND c.campaign_id = p_campaign_id
       FOR UPDATE;
    IF v_status IS DISTINCT FROM 2 THEN
        RETURN QUERY SELECT NULL::integer, NULL::bigint, NULL::bigint, NULL::smallint,
            NULL::integer, NULL::integer, NULL::text, NULL::varchar, NULL::text,
            NULL::varchar, NULL::timestamptz, 1::smallint, 0, NULL::boolean;
        RETURN;
    END IF;
    SELECT p_cap - count(*) INTO v_limit FROM t_isl_data d
     WHERE d.vdn_id = p_vdn_id AND d.campaign_id = p_campaign_id AND d.status = 1;
    IF v_limit <= 0 THEN
        RETURN QUERY SELECT NULL::integer, NULL::bigint, NULL::bigint, NULL::smallint,
            NULL::integer, NULL::integer, NULL::text, NULL::varchar, NULL::text,
            NULL::varchar, NULL::timestamptz, 2::smallint, 0, NULL::boolean;
        RETURN;
    END IF;
    v_limit := least(v_limit, p_batch);
    FOREACH v_priority IN ARRAY CASE WHEN p_first_calls THEN ARRAY[0, 1]::smallint[]
                                     ELSE ARRAY[0]::smallint[] END
    LOOP
        EXIT WHEN v_got >= v_limit;
        RETURN QUERY
        WITH due AS MATERIALIZED (
            SELECT d.data_id FROM t_isl_data d
             WHERE d.vdn_id = p_vdn_id AND d.campaign_id = p_campaign_id
               AND d.status = 0 AND d.priority = v_priority AND d.next_call_time <= p_now
               AND (p_agents IS NULL OR d.reserved_work_no IS NULL
                    OR d.reserved_work_no = ANY (p_agents)
                    OR d.next_call_time <= p_fallback_before)
             ORDER BY d.next_call_time, d.data_id
             LIMIT v_limit - v_got
               FOR UPDATE SKIP LOCKED
        )
        UPDATE t_isl_data d SET
            status = 1,
            lease_owner = p_worker,
            lease_expires_at = p_lease_until,
            attempt_no = d.attempt_no + 1,
            attempt_index = d.next_index,
            day_attempts = CASE WHEN d.attempt_day = p_today THEN d.day_attempts + 1 ELSE 1 END,
            attempt_day = p_today,
            first_attempt_day = coalesce(d.first_attempt_day, p_today),
            updated_at = p_now
          FROM due
         WHERE d.vdn_id = p_vdn_id AND d.data_id = due.data_id
        RETURNING d.vdn_id, d.data_id, d.campaign_id, d.status, d.attempt_no, d.attempt_index,
            d.called_nos, d.caller, d.call_data, d.reserved_work_no, d.next_call_time,
            0::smallint, v_limit,
            EXISTS (SELECT 1 FROM t_isl_blocklist b
                     WHERE b.vdn_id = p_vdn_id
                       AND b.number = (d.called_nos::json -> d.attempt_index ->> 'calledNo')
                       AND (b.expires_at IS NULL OR b.expires_at > p_now));
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_got := v_got + v_rows;
    END LOOP;
    IF v_got = 0 THEN
        RETURN QUERY SELECT NULL::integer, NULL::bigint, NULL::bigint, NULL::smallint,
            NULL::integer, NULL::integer, NULL::text, NULL::varchar, NULL::text,
            NULL::varchar, NULL::timestamptz, 3::smallint, v_limit, NULL::boolean;
    END IF;
END
$$
"""


def _previous() -> Any:
    """Migration 0011's module: its function (for the downgrade) and where it is wanted."""
    return context.script.get_revision(down_revision).module


def upgrade() -> None:
    if _previous()._wanted():  # PostgreSQL, not Citus (as 0011)
        op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
        op.execute(CREATE)


def downgrade() -> None:
    previous = _previous()
    if previous._wanted():
        op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
        op.execute(previous.CREATE)
