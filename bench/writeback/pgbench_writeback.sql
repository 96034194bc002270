-- pgbench's "minimal equivalent" of one write-back: one prepared CTE statement that
-- updates a random call-data record as callBusiResult does (SOLD, busiResultPolicy 2:
-- call the same number again in 60 s) and inserts its t_isl_data_result row.
-- :rows comes from `pgbench -D rows=N`; result ids (2 << 48) + k never collide with
-- the server's (VDN 1: ids below 2 << 48). Its agent is 2034, not the HTTP load's 2033:
-- a write-back identical to the one a record already holds changes nothing
-- (docs/writeback.md), and the HTTP run must not meet records pgbench wrote first.
\set n random(1, :rows)
WITH d AS (
    UPDATE t_isl_data
       SET busi_result = 'SOLD', sub_status = NULL, busi_result_desc = NULL, work_no = '2034',
           busi_write_time = now(), busi_attempt_no = attempt_no, updated_at = now(),
           status = 0, next_index = attempt_index,
           next_call_time = now() + interval '60 seconds',
           reserved_work_no = '2034', completed_at = NULL
     WHERE vdn_id = 1 AND data_id = (1::bigint << 48) | :n
    RETURNING vdn_id, data_id, campaign_id, attempt_no, called_nos
)
INSERT INTO t_isl_data_result
    (vdn_id, result_id, data_id, campaign_id, kind, attempt_no, called, busi_result,
     work_no, created_at)
SELECT vdn_id, (2::bigint << 48) + nextval('bench_result_seq'), data_id, campaign_id, 'busi',
       attempt_no, called_nos::json -> 0 ->> 'calledNo', 'SOLD', '2034', now()
  FROM d;
