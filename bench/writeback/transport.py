"""The transport's ceiling: what the null server costs, and the rate that leaves a write-back.

A write-back served on this machine costs at least the null server's CPU per
request (the HTTP stack: event loop, TLS, protocol, ASGI), PostgreSQL's CPU
per write-back, and the load generator's CPU per request, and all three share
the same cores. So

    write-backs/s  ≤  cores × 10⁶ / (transport µs + PostgreSQL µs + wrk µs)

whatever the application does. PostgreSQL's share is taken as its CPU per
pgbench transaction in the same run: a write-back does at least that
transaction's work (its statements are pgbench's plus the replay guard's), so
the ceiling it gives is an upper bound; ``--postgres-us`` gives a second one
with a figure ``run.py`` measured for real write-backs. On SQLite the server
is one process whose event loop (one thread, one core at most) runs all the
transport's work, so the rate is also at most 10⁶ / transport µs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import report
from baseline import PgbenchResult

from common.machine import CpuUsage

APPLICATION = "bench/writeback/nullapp.py: reads the body, answers a write-back's success bytes"


@dataclass(frozen=True)
class Measurement:
    engine: str
    settings: dict[str, Any]
    machine: dict[str, Any]
    http: report.HttpRun  # the null server under wrk; rows before/after: nothing may be written
    open_loops: tuple[tuple[str, report.OpenLoopPhase], ...] = ()  # (at what rate, the run)
    pgbench: PgbenchResult | None = None
    pgbench_cpu: CpuUsage | None = None
    pgbench_busy_before: float | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def problems(self) -> list[str]:
        found = report.wrk_problems(self.http.wrk)
        for label, phase in self.open_loops:
            if phase.result.errors:
                found.append(f"open loop at {label}: {phase.result.errors} errors")
        written = self.http.rows_after.total - self.http.rows_before.total
        if written:
            found.append(f"{written} result rows written: the server did not run the null app")
        if self.pgbench and self.pgbench.failed:
            found.append(f"pgbench reported {self.pgbench.failed} failed transactions")
        return found

    def noise(self) -> list[str]:
        phases = [("HTTP run", self.http.cpu), ("pgbench run", self.pgbench_cpu)]
        phases += [(f"open loop at {label}", phase.cpu) for label, phase in self.open_loops]
        return report.phase_noise(phases)


def rate_limit(cores: float, costs_us: list[float]) -> float:
    """Requests per second that ``cores`` allow when each costs ``costs_us`` in all."""
    return cores * 1e6 / sum(costs_us)


def postgres_ceiling(
    cores: int, transport_us: float, wrk_us: float, postgres_us: float, tps: float, source: str
) -> dict[str, Any]:
    rate = rate_limit(cores, [transport_us, postgres_us, wrk_us])
    budget = cores * 1e6 / (report.BAR * tps)  # µs of the machine per write-back at the bar
    return {
        "postgres_us": round(postgres_us, 1),
        "postgres_us_from": source,
        "total_us": round(transport_us + postgres_us + wrk_us, 1),
        "writebacks_per_s": round(rate, 1),
        "ratio_of_pgbench": round(rate / tps, 3),
        "bar": report.BAR,
        "bar_reachable": rate / tps >= report.BAR,
        "budget_at_bar_us": round(budget, 1),
        "left_for_the_application_us": round(budget - transport_us - postgres_us - wrk_us, 1),
    }


def ceilings(m: Measurement, postgres_us: float | None) -> dict[str, Any]:
    """The derived ceilings (see the module's docstring)."""
    w = m.http.wrk
    us = report.per_request_us(m.http.cpu, w.ok + w.in_flight) or {}
    cores = int(m.machine["cores"])
    transport_us, wrk_us = us.get("server", 0.0), us.get("wrk", 0.0)
    if not transport_us:
        return {}
    if m.engine == "sqlite":
        one_loop = 1e6 / transport_us
        machine = rate_limit(cores, [transport_us, wrk_us])
        rate = min(one_loop, machine)
        return {
            "transport_us": transport_us,
            "wrk_us": wrk_us,
            "one_event_loop_per_s": round(one_loop, 1),
            "machine_per_s": round(machine, 1),
            "writebacks_per_s": round(rate, 1),
            "target_per_s": report.SQLITE_RATE,
            "rate_reachable": rate >= report.SQLITE_RATE,
            "null_p99_ms": w.p99_ms,
            "target_p99_ms": report.SQLITE_P99_MS,
        }
    assert m.pgbench is not None and m.pgbench_cpu is not None
    tps = m.pgbench.tps
    found: dict[str, Any] = {
        "transport_us": transport_us,
        "wrk_us": wrk_us,
        "null_rate_ratio_of_pgbench": round(w.rate / tps, 3),
    }
    pgbench_us = report.pgbench_postgres_us(m.pgbench, m.pgbench_cpu)
    if pgbench_us:
        source = "pgbench's PostgreSQL CPU per transaction, this run (a lower bound)"
        found["with_pgbench_postgres"] = postgres_ceiling(
            cores, transport_us, wrk_us, pgbench_us, tps, source
        )
    if postgres_us:
        source = "--postgres-us: PostgreSQL's CPU per write-back measured by run.py"
        found["with_given_postgres"] = postgres_ceiling(
            cores, transport_us, wrk_us, postgres_us, tps, source
        )
    return found


def document(m: Measurement, postgres_us: float | None) -> dict[str, Any]:
    w = m.http.wrk
    return {
        "benchmark": "writeback-ceiling",
        "date": m.started.isoformat(timespec="seconds"),
        "engine": m.engine,
        "machine": m.machine,
        "settings": m.settings,
        "application": APPLICATION,
        "pgbench": m.pgbench.as_dict() if m.pgbench else None,
        "pgbench_cpu": m.pgbench_cpu.as_dict() if m.pgbench_cpu else None,
        "pgbench_postgres_us_per_transaction": (
            report.pgbench_postgres_us(m.pgbench, m.pgbench_cpu)
            if m.pgbench and m.pgbench_cpu
            else None
        ),
        "requests_per_s": round(w.rate, 1),
        "latency_ms": {"p50": w.p50_ms, "p90": w.p90_ms, "p99": w.p99_ms, "max": w.max_ms},
        "errors": w.errors,
        "error_detail": report.wrk_error_detail(w),
        "responses_ok": w.ok,
        "requests_sent": w.sent,
        "db_new_result_rows": m.http.rows_after.total - m.http.rows_before.total,
        "wrk_duration_s": round(w.duration_s, 3),
        "wrk_cpu": report.wrk_cpu(w, m.machine["cores"]),
        "http_cpu": m.http.cpu.as_dict(),
        "cpu_per_request_us": report.per_request_us(m.http.cpu, w.ok + w.in_flight),
        "busy_cores_before": {"pgbench": m.pgbench_busy_before, "http": m.http.busy_before},
        "open_loops": [
            {"at": label} | (report.open_loop_document(phase) or {})
            for label, phase in m.open_loops
        ],
        "ceiling": ceilings(m, postgres_us),
        "problems": m.problems(),
        "notes": m.noise()
        + (["profiled run: py-spy competed for the CPU"] if m.http.profile else []),
        "profile": m.http.profile.splitlines() if m.http.profile else None,
    }


def _ceiling_lines(doc: dict[str, Any]) -> list[str]:
    c = doc["ceiling"]
    if not c:
        return []
    cores = doc["machine"]["cores"]
    lines = [f"CPU each     transport {c['transport_us']:.0f} µs · wrk {c['wrk_us']:.0f} µs"]
    if doc["engine"] == "sqlite":
        verdict = "reachable" if c["rate_reachable"] else "OUT OF REACH"
        return [
            *lines,
            f"ceiling      {c['writebacks_per_s']:,.0f} write-backs/s = min(one event loop"
            f" {c['one_event_loop_per_s']:,.0f}, {cores} cores {c['machine_per_s']:,.0f})"
            f" vs target {c['target_per_s']:,.0f}: {verdict}",
            f"p99 floor    {c['null_p99_ms']:.2f} ms at 32 connections with no application"
            f" vs target {c['target_p99_ms']:.0f} ms",
        ]
    lines.append(f"null rate    {c['null_rate_ratio_of_pgbench']:.3f} of pgbench (no database)")
    for key in ("with_pgbench_postgres", "with_given_postgres"):
        if key in c:
            x = c[key]
            verdict = "reachable" if x["bar_reachable"] else "OUT OF REACH"
            lines += [
                f"ceiling      {cores} cores / ({c['transport_us']:.0f} + {x['postgres_us']:.0f}"
                f" + {c['wrk_us']:.0f} µs) = {x['writebacks_per_s']:,.0f} write-backs/s"
                f" = {x['ratio_of_pgbench']:.3f} of pgbench (PostgreSQL: {x['postgres_us_from']})",
                f"  bar {x['bar']}: {verdict}; at the bar a write-back may cost the machine"
                f" {x['budget_at_bar_us']:.0f} µs, {x['left_for_the_application_us']:.0f} µs"
                " of it left for the application",
            ]
    return lines


def summary(doc: dict[str, Any], path: Path) -> str:
    mach, st, lat = doc["machine"], doc["settings"], doc["latency_ms"]
    lines = [
        "",
        "=" * 72,
        f"write-back transport ceiling · {doc['engine']} · {doc['date']}",
        f"machine      {mach['cpu_model']}, {mach['cores']} cores, {mach['memory_gib']} GiB,"
        f" {mach.get('database', '')}",
        f"settings     openisales serve with the null application, {st['server_workers']}"
        f" workers, TLS {'on' if st.get('tls', True) else 'off'}, {st['connections']}"
        f" connections, {st['duration_s']} s, {st['wrk_threads']} wrk thread(s)",
    ]
    if doc["pgbench"]:
        pgb = doc["pgbench"]
        lines += [
            f"pgbench      {pgb['tps']:,.1f} TPS ({pgb['clients']} clients); PostgreSQL"
            f" {doc['pgbench_postgres_us_per_transaction']:.0f} µs per transaction",
            f"pgbench CPU  {report.cpu_line(doc['pgbench_cpu'])} of {mach['cores']} cores",
        ]
    lines += [
        f"null server  {doc['requests_per_s']:,.1f} requests/s"
        f"  ({doc['responses_ok']:,} ok in {doc['wrk_duration_s']} s), errors {doc['errors']}",
        f"latency      p50 {lat['p50']:.2f} ms · p99 {lat['p99']:.2f} ms · max {lat['max']:.2f} ms",
        f"HTTP CPU     {report.cpu_line(doc['http_cpu'])} of {mach['cores']} cores;"
        f" wrk {doc['wrk_cpu']['share_of_machine']:.1%} of the machine",
    ]
    for ol in doc["open_loops"]:
        lines.append(f"open loop at {ol['at']}:")
        lines += report.open_loop_lines(ol, mach["cores"], rows=False)
        p99 = ol["latency_ms"].get("p99", float("inf"))
        lines.append(
            f"  p99 floor  {p99:.2f} ms with no application, against the target's"
            f" {report.OPEN_LOOP_P99_MS:.0f} ms"
        )
    lines += _ceiling_lines(doc)
    lines += [f"problem      {p}" for p in doc["problems"]]
    lines += [f"note         {n}" for n in doc["notes"]]
    lines += [f"record       {path}", "=" * 72]
    return "\n".join(lines)
