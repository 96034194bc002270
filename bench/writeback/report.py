"""The run's verdict, its summary block and its JSON record (bench/out/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baseline import PacedResult, PgbenchResult
from cpu import GROUPS
from dataset import ResultCount
from loadgen import OpenLoopResult, WrkResult

from common.machine import CpuUsage

BAR = 0.45  # write-backs/s at saturation ÷ pgbench TPS (issue 14; the median of three runs)
OPEN_LOOP_P99_MS = 10.0  # p99 at half the peak rate, open loop (issue 14)
SQLITE_RATE = 1500.0  # the embedded engine (--short): write-backs/s at saturation (issue 14)...
SQLITE_P99_MS = 20.0  # ...with this p99 (issue 14)
NOISE_CORES = 0.1  # 'other' CPU above this during a phase is reported
LOAD_GROUPS = ("server", "postgres", "wrk", "openloop")


@dataclass(frozen=True)
class OpenLoopPhase:
    """The constant-rate run on the same server, after the saturation run."""

    result: OpenLoopResult
    rows_before: ResultCount
    rows_after: ResultCount
    cpu: CpuUsage
    busy_before: float | None
    profile: str | None = None  # py-spy summary (--profile)

    @property
    def new_rows(self) -> int:
        return self.rows_after.total - self.rows_before.total

    def problems(self) -> list[str]:
        r = self.result
        found = []
        if r.errors:
            found.append(
                f"open loop: {r.errors} errors ({r.bad} non-success answers,"
                f" {r.socket_errors} socket, {r.unanswered} unanswered)"
            )
        if not r.ok <= self.new_rows <= r.ok + r.unanswered + r.socket_errors:
            found.append(
                f"open loop: database has {self.new_rows} new result rows for {r.ok} successes"
            )
        distinct = self.rows_after.distinct_data - self.rows_before.distinct_data
        if distinct != self.new_rows:
            found.append(f"open loop: {self.new_rows - distinct} records written back twice")
        return found


@dataclass(frozen=True)
class HttpRun:
    wrk: WrkResult
    rows_before: ResultCount
    rows_after: ResultCount
    cpu: CpuUsage
    profile: str | None  # py-spy summary (--profile)
    busy_before: float | None  # machine's busy cores just before (None: not checked)
    open_loop: OpenLoopPhase | None = None


@dataclass(frozen=True)
class Measurement:
    engine: str
    settings: dict[str, Any]
    machine: dict[str, Any]
    http: HttpRun
    pgbench: PgbenchResult | None = None
    pgbench_cpu: CpuUsage | None = None
    pgbench_busy_before: float | None = None
    pgbench_paced: PacedResult | None = None  # pgbench at the open loop's rate
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def wrk(self) -> WrkResult:
        return self.http.wrk

    @property
    def cpu(self) -> CpuUsage:
        return self.http.cpu

    @property
    def new_rows(self) -> int:
        return self.http.rows_after.total - self.http.rows_before.total

    @property
    def sessions_opened(self) -> int | None:
        """Connections to the database opened while wrk ran (pool churn), about."""
        before, after = self.http.rows_before.sessions, self.http.rows_after.sessions
        return None if before is None or after is None else max(0, after - before - 1)

    @property
    def ratio(self) -> float | None:
        return self.wrk.rate / self.pgbench.tps if self.pgbench else None

    def problems(self) -> list[str]:
        """Everything that makes the measurement invalid (not the bar itself)."""
        w = self.wrk
        found = wrk_problems(w)
        if self.new_rows != w.ok + w.in_flight:
            found.append(
                f"database has {self.new_rows} new result rows, expected {w.ok} successful"
                f" + {w.in_flight} in flight at wrk's stop"
            )
        distinct = self.http.rows_after.distinct_data - self.http.rows_before.distinct_data
        if distinct != self.new_rows:
            found.append(f"{self.new_rows - distinct} records were written back more than once")
        if self.pgbench and self.pgbench.failed:
            found.append(f"pgbench reported {self.pgbench.failed} failed transactions")
        if self.pgbench_paced and self.pgbench_paced.failed:
            found.append(f"pgbench -R reported {self.pgbench_paced.failed} failed transactions")
        if self.http.open_loop is not None:
            found += self.http.open_loop.problems()
        return found

    def targets(self) -> list[tuple[str, bool]]:
        """Each target of this run as (what was measured against what, met)."""
        found = []
        if self.ratio is not None:
            found.append(
                (f"saturation {self.ratio:.3f} of pgbench ≥ {BAR}", self.ratio >= BAR),
            )
        if self.engine == "sqlite":
            w = self.wrk
            found.append(
                (f"SQLite {w.rate:,.0f} write-backs/s ≥ {SQLITE_RATE:,.0f}", w.rate >= SQLITE_RATE)
            )
            found.append(
                (
                    f"SQLite p99 {w.p99_ms:.2f} ms ≤ {SQLITE_P99_MS:.0f} ms",
                    w.p99_ms <= SQLITE_P99_MS,
                )
            )
        ol = self.http.open_loop
        if ol is not None and self.engine == "postgres":
            p99 = ol.result.latency_ms.get("p99", float("inf"))
            floor = ""
            if self.pgbench_paced is not None:
                paced = self.pgbench_paced.latency_ms.get("p99", 0.0)
                floor = f" (pgbench alone at that rate: p99 {paced:.2f} ms)"
            found.append(
                (
                    f"open loop at {self.settings.get('open_loop_share', 0.5):.0%} of peak:"
                    f" p99 {p99:.2f} ms ≤ {OPEN_LOOP_P99_MS:.0f} ms{floor}",
                    p99 <= OPEN_LOOP_P99_MS,
                )
            )
        return found

    def verdict(self) -> str:
        if self.problems():
            return "FAIL (invalid run)"
        noisy = " · noisy: re-run on a quiet machine" if noise_notes(self) else ""
        targets = self.targets()
        if not targets:
            return f"OK (rate only, no bar on SQLite){noisy}"
        return ("PASS" if all(met for _, met in targets) else "FAIL") + noisy


def document(m: Measurement) -> dict[str, Any]:
    w = m.wrk
    return {
        "benchmark": "writeback",
        "date": m.started.isoformat(timespec="seconds"),
        "engine": m.engine,
        "machine": m.machine,
        "settings": m.settings,
        "pgbench": m.pgbench.as_dict() if m.pgbench else None,
        "pgbench_cpu": m.pgbench_cpu.as_dict() if m.pgbench_cpu else None,
        "pgbench_tps": round(m.pgbench.tps, 1) if m.pgbench else None,
        "writebacks_per_s": round(w.rate, 1),
        "latency_ms": {
            "p50": w.p50_ms,
            "p90": w.p90_ms,
            "p99": w.p99_ms,
            "mean": w.mean_ms,
            "max": w.max_ms,
        },
        "errors": w.errors,
        "error_detail": wrk_error_detail(w),
        "responses_ok": w.ok,
        "requests_sent": w.sent,
        "in_flight_at_stop": w.in_flight,
        "db_new_result_rows": m.new_rows,
        "db_sessions_opened_during_run": m.sessions_opened,
        "wrk_duration_s": round(w.duration_s, 3),
        "wrk_cpu": wrk_cpu(w, m.machine["cores"]),
        "http_cpu": m.cpu.as_dict(),
        "busy_cores_before": {"pgbench": m.pgbench_busy_before, "http": m.http.busy_before},
        "ratio": round(m.ratio, 4) if m.ratio is not None else None,
        "bar": BAR if m.pgbench else None,
        "cpu_per_writeback_us": per_request_us(m.cpu, w.ok + w.in_flight),
        "pgbench_postgres_us_per_transaction": (
            pgbench_postgres_us(m.pgbench, m.pgbench_cpu) if m.pgbench and m.pgbench_cpu else None
        ),
        "open_loop": open_loop_document(m.http.open_loop),
        "open_loop_pgbench": m.pgbench_paced.as_dict() if m.pgbench_paced else None,
        "targets": [{"target": what, "met": met} for what, met in m.targets()],
        "problems": m.problems(),
        "verdict": m.verdict(),
        "notes": noise_notes(m)
        + (["profiled run: py-spy competed for the CPU"] if m.http.profile else []),
        "profile": m.http.profile.splitlines() if m.http.profile else None,
    }


def wrk_problems(w: WrkResult) -> list[str]:
    """What makes a wrk run invalid, whatever the server: errors, too few pre-signed requests."""
    found = []
    if w.errors:
        found.append(f"{w.errors} errors ({w.bad} non-success answers, {w.socket_errors} socket)")
    if w.exhausted:
        found.append(f"wrk threads ran out of pre-signed requests ({w.exhausted} missing)")
    return found


def wrk_error_detail(w: WrkResult) -> dict[str, Any]:
    return {
        "non_success_answers": w.bad,
        "http_status_ge_400": w.http_errors,
        "socket_errors_and_timeouts": w.socket_errors,
        "exhausted": w.exhausted,
        "samples": w.samples[:5],
    }


def wrk_cpu(w: WrkResult, cores: int) -> dict[str, float]:
    """wrk's own CPU (its rusage): seconds, cores, and share of the machine's ``cores``."""
    return {
        "cpu_s": round(w.cpu_s, 2),
        "cores": round(w.cpu_share, 3),
        "share_of_machine": round(w.cpu_share / cores, 3),
    }


def pgbench_postgres_us(pgbench: PgbenchResult, cpu: CpuUsage) -> float | None:
    """PostgreSQL's CPU microseconds per pgbench transaction."""
    if not pgbench.transactions:
        return None
    return round(cpu.groups["postgres"] * cpu.wall_s / pgbench.transactions * 1e6, 1)


def per_request_us(cpu: CpuUsage, requests: int) -> dict[str, float] | None:
    """CPU microseconds per request of each group that served it, over the phase."""
    if not requests:
        return None
    return {g: round(cpu.groups[g] * cpu.wall_s / requests * 1e6, 1) for g in LOAD_GROUPS}


def open_loop_document(ol: OpenLoopPhase | None) -> dict[str, Any] | None:
    if ol is None:
        return None
    r = ol.result
    return {
        "rate_target": round(r.rate_target, 1),
        "writebacks_per_s": round(r.rate, 1),
        "duration_s": r.duration_s,
        "connections": r.connections,
        "scheduled": r.scheduled,
        "sent": r.sent,
        "ok": r.ok,
        "errors": r.errors,
        "error_detail": {
            "non_success_answers": r.bad,
            "socket_errors": r.socket_errors,
            "unanswered": r.unanswered,
            "sample": r.sample,
        },
        "latency_ms": r.latency_ms,
        "send_lag_ms": r.send_lag_ms,
        "slowest_seconds": r.slowest_seconds,
        "backlog_max": r.backlog_max,
        "db_new_result_rows": ol.new_rows,
        "generator_cpu": {
            "cpu_s": round(r.cpu_s, 2),
            "cores": round(r.cpu_share, 3),
        },
        "http_cpu": ol.cpu.as_dict(),
        "cpu_per_writeback_us": per_request_us(ol.cpu, r.ok),
        "busy_cores_before": ol.busy_before,
        "profile": ol.profile.splitlines() if ol.profile else None,
    }


def cpu_line(cpu: dict[str, Any]) -> str:
    shown = [f"{name} {cpu[name]:.2f}" for name in GROUPS if cpu.get(name)]
    return " · ".join([*shown, f"busy {cpu['machine_busy']:.2f}"])


def noise_notes(m: Measurement, limit: float = NOISE_CORES) -> list[str]:
    """Unrelated processes that used CPU during a phase (the figures are then pessimistic)."""
    phases = [("HTTP run", m.cpu), ("pgbench run", m.pgbench_cpu)]
    if m.http.open_loop is not None:
        phases.append(("open-loop run", m.http.open_loop.cpu))
    return phase_noise(phases, limit)


def phase_noise(phases: list[tuple[str, CpuUsage | None]], limit: float = NOISE_CORES) -> list[str]:
    """One note for each phase in which unrelated processes used more than ``limit`` cores."""
    return [
        f"{name}: unrelated processes used {usage.groups['other']:.2f} cores"
        for name, usage in phases
        if usage is not None and usage.groups["other"] > limit
    ]


def summary(doc: dict[str, Any], path: Path) -> str:
    mach, st, lat, cpu = doc["machine"], doc["settings"], doc["latency_ms"], doc["http_cpu"]
    lines = [
        "",
        "=" * 72,
        f"write-back benchmark · {doc['engine']} · {doc['date']}",
        f"machine      {mach['cpu_model']}, {mach['cores']} cores, {mach['memory_gib']} GiB,"
        f" {mach.get('database', '')}",
        f"settings     {st['rows']:,} rows, {st['duration_s']} s, {st['connections']} connections,"
        f" {st['server_workers']} server workers, {st['wrk_threads']} wrk thread(s),"
        f" TLS {'on' if st.get('tls', True) else 'off'},"
        f" replay guard {st['replay_guard']}",
    ]
    if doc["pgbench"]:
        pgb = doc["pgbench"]
        lines.append(
            f"pgbench      {pgb['tps']:,.1f} TPS ({pgb['clients']} clients,"
            f" avg {pgb['latency_avg_ms']} ms)"
        )
    lines += [
        f"write-backs  {doc['writebacks_per_s']:,.1f} /s"
        f"  ({doc['responses_ok']:,} ok in {doc['wrk_duration_s']} s)",
        f"latency      p50 {lat['p50']:.2f} ms · p99 {lat['p99']:.2f} ms · max {lat['max']:.2f} ms",
        f"errors       {doc['errors']}",
        f"rows check   {doc['db_new_result_rows']:,} new result rows ="
        f" {doc['responses_ok']:,} ok + {doc['in_flight_at_stop']} in flight at stop",
        f"HTTP CPU     {cpu_line(cpu)} of {mach['cores']} cores;"
        f" wrk {doc['wrk_cpu']['share_of_machine']:.1%} of the machine",
    ]
    if doc["pgbench_cpu"]:
        lines.append(f"pgbench CPU  {cpu_line(doc['pgbench_cpu'])} of {mach['cores']} cores")
    if doc["db_sessions_opened_during_run"] is not None:
        lines.append(
            f"db sessions  ≈{doc['db_sessions_opened_during_run']} opened while wrk ran"
            " (pool churn; the pools were warm before)"
        )
    if doc["cpu_per_writeback_us"]:
        us = doc["cpu_per_writeback_us"]
        pg_tx = doc["pgbench_postgres_us_per_transaction"]
        lines.append(
            f"CPU each     server {us['server']:.0f} µs · PostgreSQL {us['postgres']:.0f} µs"
            f" · wrk {us['wrk']:.0f} µs per write-back"
            + (f"; pgbench's PostgreSQL {pg_tx:.0f} µs per transaction" if pg_tx else "")
        )
    if doc["ratio"] is not None:
        lines.append(f"ratio        {doc['ratio']:.3f} of pgbench (bar {doc['bar']})")
    if doc["open_loop"] is not None:
        lines += open_loop_lines(doc["open_loop"], mach["cores"])
    paced = doc.get("open_loop_pgbench")
    if paced:
        pl = paced["latency_ms"]
        lines.append(
            f"  pgbench    at the same rate ({paced['tps']:,.1f} TPS of"
            f" {paced['rate_target']:,.1f}):"
            f" p50 {pl.get('p50', 0):.2f} · p99 {pl.get('p99', 0):.2f}"
            f" · p99.9 {pl.get('p99.9', 0):.2f} · max {pl.get('max', 0):.2f} ms"
            " (the database alone, from scheduled start)"
        )
    lines += [
        f"target       {what}: {'PASS' if met else 'FAIL'}"
        for what, met in ((t["target"], t["met"]) for t in doc["targets"])
    ]
    lines += [f"problem      {p}" for p in doc["problems"]]
    lines += [f"note         {n}" for n in doc["notes"]]
    lines += [f"VERDICT      {doc['verdict']}", f"record       {path}", "=" * 72]
    return "\n".join(lines)


def open_loop_lines(ol: dict[str, Any], cores: int, *, rows: bool = True) -> list[str]:
    """The summary's lines for an open-loop run (``open_loop_document``); ``rows``: checked."""
    ll, lag, ous = ol["latency_ms"], ol["send_lag_ms"], ol["cpu_per_writeback_us"] or {}
    rows_line = f"  rows check {ol['db_new_result_rows']:,} new result rows for {ol['ok']:,} ok"
    return [
        f"open loop    {ol['writebacks_per_s']:,.1f} /s of {ol['rate_target']:,.1f} due"
        f" ({ol['ok']:,} ok in {ol['duration_s']} s, {ol['connections']} connections),"
        f" errors {ol['errors']}",
        f"  latency    p50 {ll.get('p50', 0):.2f} · p99 {ll.get('p99', 0):.2f}"
        f" · p99.9 {ll.get('p99.9', 0):.2f} · max {ll.get('max', 0):.2f} ms (from due time)",
        f"  send lag   p50 {lag.get('p50', 0):.2f} · p99 {lag.get('p99', 0):.2f} ms;"
        f" most waiting for a connection {ol['backlog_max']}",
        "  slowest s  "
        + " · ".join(f"{w['second']}: {w['max_ms']:.1f}" for w in ol.get("slowest_seconds", []))
        + " ms (second of the schedule: its slowest answer)",
        *([rows_line] if rows else []),
        f"  CPU        {cpu_line(ol['http_cpu'])} of {cores} cores;"
        f" generator {ol['generator_cpu']['cores']:.2f} cores",
        f"  CPU each   server {ous.get('server', 0):.0f} µs · PostgreSQL"
        f" {ous.get('postgres', 0):.0f} µs · generator {ous.get('openloop', 0):.0f} µs",
    ]
