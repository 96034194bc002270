"""the dispatcher's claim in one round trip: ``isl_claim`` (PostgreSQL, not Citus)

A dispatcher's claim locks the campaign row (which keeps the concurrency cap
exact across dispatchers), counts the campaign's calls in progress, then
claims due records in two passes (scheduled records, then first calls). As
separate statements in a transaction that is five round trips, during which
the campaign stays locked while the dispatcher's event loop runs its other
work between them; this function does the same in one statement, in the
server. Each statement in it takes a fresh snapshot (a ``VOLATILE`` function
in ``READ COMMITTED``), so the count sees every claim committed before the
lock was granted, exactly as the separate statements did.

It is the statements of ``store.dispatch`` (``lock_campaign``,
``count_calling``, ``claim_rows``) for the dispatcher's case (no preview
reservation) and must stay equal to them: ``tests/dialing`` compares the two
on PostgreSQL. Every statement filters on ``vdn_id``. It is not created on a
Citus coordinator, where the dispatcher keeps the separate statements
(``store.dispatch.claim_function``).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
contract = False  # expand only: a new function, older code runs on it (store.schema)

SIGNATURE = (
    "isl_claim(integer, bigint, integer, integer, boolean, varchar, timestamptz, "
    "timestamptz, varchar, varchar[], timestamptz)"
)

# Row kinds (claim_state): 0 a claimed record; 1 the campaign is gone or not
# running; 2 it is at its cap; 3 nothing due. A state row (1-3) is the only row
# returned; claim_limit is min(batch, cap - calls in progress) (0 in 1 and 2).
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
    claim_limit integer
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
            NULL::varchar, NULL::timestamptz, 1::smallint, 0;
        RETURN;
    END IF;
    SELECT p_cap - count(*) INTO v_limit FROM t_isl_data d
     WHERE d.vdn_id = p_vdn_id AND d.campaign_id = p_campaign_id AND d.status = 1;
    IF v_limit <= 0 THEN
        RETURN QUERY SELECT NULL::integer, NULL::bigint, NULL::bigint, NULL::smallint,
            NULL::integer, NULL::integer, NULL::text, NULL::varchar, NULL::text,
            NULL::varchar, NULL::timestamptz, 2::smallint, 0;
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
            0::smallint, v_limit;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_got := v_got + v_rows;
    END LOOP;
    IF v_got = 0 THEN
        RETURN QUERY SELECT NULL::integer, NULL::bigint, NULL::bigint, NULL::smallint,
            NULL::integer, NULL::integer, NULL::text, NULL::varchar, NULL::text,
            NULL::varchar, NULL::timestamptz, 3::smallint, v_limit;
    END IF;
END
$$
"""


def _wanted() -> bool:
    """On PostgreSQL but not Citus; offline (``migrate --sql``) on every PostgreSQL."""
    context = op.get_context()
    if context.dialect.name != "postgresql":
        return False
    if context.as_sql:
        return True
    found = op.get_bind().exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
    return found.first() is None


def upgrade() -> None:
    if _wanted():
        op.execute(CREATE)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
