"""each campaign's count of calls in progress, kept as records change (PostgreSQL, not Citus)

The claim (``isl_claim``) counted a campaign's records being called under the
campaign's lock. Every claim and every outcome leaves a dead index entry
among the records being called until vacuum, so that count read more pages
with every attempt made since the last vacuum (about 3,800 pages, 3–10 ms,
after 300,000 attempts: docs/benchmarks.md), all while the campaign was
locked.

``t_isl_calling`` holds signed changes of that count: a statement trigger on
``t_isl_data`` adds, for each statement that changes records' ``status`` to
or from 1 (being called) or deletes records being called, one row per
campaign with the net change; a ``TRUNCATE`` of the records empties it. Its
rows have a key of their own (``id``), so that a publication of every table
(logical replication) still takes the claim's deletes. A deleted campaign's
rows go with it (a row trigger on ``t_isl_campaign``).
``isl_claim`` folds a campaign's rows into one (their sum) and takes that sum
as the count, in one statement under the campaign's lock. Its snapshot is the
one the count of records had: a change committed later is not in either, an
outcome not yet committed counts its record as still being called in both.
Records are inserted waiting (status 0), never being called, so inserts (the
import's COPY among them) carry no trigger. Every other ``UPDATE`` of records pays the
trigger once per statement (about 7 µs of PostgreSQL's CPU, measured; a
batched write-back pays it once for its batch).

The migration locks ``t_isl_data`` against writes while it creates the
triggers and fills the table from the records, so that no change is missed
or counted twice; it commits at once. It waits at most 10 s for that lock
(``lock_timeout``): a long transaction writing records (an import) makes it
fail, with nothing changed, instead of holding every writer up behind it;
run ``openisales migrate`` again once it is over.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from typing import Any

from alembic import context, op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
contract = False  # expand only: 0012's code runs on it (the function's columns are the same)


LEDGER = (
    """CREATE TABLE t_isl_calling (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        vdn_id integer NOT NULL,
        campaign_id bigint NOT NULL,
        delta integer NOT NULL
    )""",
    "CREATE INDEX ix_t_isl_calling ON t_isl_calling (vdn_id, campaign_id)",
    """CREATE FUNCTION isl_calling_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO t_isl_calling (vdn_id, campaign_id, delta)
        SELECT c.vdn_id, c.campaign_id, sum(c.delta)::integer FROM (
            SELECT n.vdn_id, n.campaign_id, 1 AS delta FROM new_rows n WHERE n.status = 1
            UNION ALL
            SELECT o.vdn_id, o.campaign_id, -1 AS delta FROM old_rows o WHERE o.status = 1
        ) c
        GROUP BY c.vdn_id, c.campaign_id HAVING sum(c.delta) <> 0;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO t_isl_calling (vdn_id, campaign_id, delta)
        SELECT o.vdn_id, o.campaign_id, -count(*)::integer FROM old_rows o
         WHERE o.status = 1 GROUP BY o.vdn_id, o.campaign_id;
    ELSE  -- TRUNCATE
        DELETE FROM t_isl_calling;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER t_isl_data_calling_update AFTER UPDATE ON t_isl_data
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION isl_calling_changed()""",
    """CREATE TRIGGER t_isl_data_calling_delete AFTER DELETE ON t_isl_data
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION isl_calling_changed()""",
    """CREATE TRIGGER t_isl_data_calling_truncate AFTER TRUNCATE ON t_isl_data
        FOR EACH STATEMENT EXECUTE FUNCTION isl_calling_changed()""",
    """CREATE FUNCTION isl_calling_campaign_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM t_isl_calling c
     WHERE c.vdn_id = OLD.vdn_id AND c.campaign_id = OLD.campaign_id;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER t_isl_campaign_calling_delete AFTER DELETE ON t_isl_campaign
        FOR EACH ROW EXECUTE FUNCTION isl_calling_campaign_gone()""",
)

FILL = """INSERT INTO t_isl_calling (vdn_id, campaign_id, delta)
SELECT d.vdn_id, d.campaign_id, count(*)::integer FROM t_isl_data d
 WHERE d.status = 1 GROUP BY d.vdn_id, d.campaign_id"""

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
    -- The calls in progress: the sum of the campaign's changes (t_isl_calling),
    -- folded into one row as it is read.
    WITH gone AS (
        DELETE FROM t_isl_calling c
         WHERE c.vdn_id = p_vdn_id AND c.campaign_id = p_campaign_id
        RETURNING c.delta
    ), total AS (
        SELECT coalesce(sum(gone.delta), 0)::integer AS calling FROM gone
    ), folded AS (
        INSERT INTO t_isl_calling (vdn_id, campaign_id, delta)
        SELECT p_vdn_id, p_campaign_id, total.calling FROM total WHERE total.calling <> 0
    )
    SELECT p_cap - total.calling INTO v_limit FROM total;
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
    """Migration 0012's module: its function (for the downgrade) and where it is wanted."""
    return context.script.get_revision(down_revision).module


def upgrade() -> None:
    if not _previous()._previous()._wanted():  # PostgreSQL, not Citus (as 0011)
        return
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute("LOCK TABLE t_isl_data IN SHARE ROW EXCLUSIVE MODE")  # writers wait (above)
    for statement in LEDGER:
        op.execute(statement)
    op.execute(FILL)
    op.execute(CREATE)  # the same signature and columns: replaced, grants kept


def downgrade() -> None:
    previous = _previous()
    if not previous._previous()._wanted():
        return
    op.execute(previous.CREATE)
    for trigger in ("update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS t_isl_data_calling_{trigger} ON t_isl_data")
    op.execute("DROP TRIGGER IF EXISTS t_isl_campaign_calling_delete ON t_isl_campaign")
    op.execute("DROP FUNCTION IF EXISTS isl_calling_changed()")
    op.execute("DROP FUNCTION IF EXISTS isl_calling_campaign_gone()")
    op.execute("DROP TABLE IF EXISTS t_isl_calling")
