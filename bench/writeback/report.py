"""The run's verdict, its summary block and its JSON record (bench/out/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baseline import PgbenchResult
from cpu import GROUPS
from dataset import ResultCount
from loadgen import WrkResult

from common.machine import CpuUsage

BAR = 0.15
NOISE_CORES = 0.1  # 'other' CPU above this during a phase is reported


@dataclass(frozen=True)
class HttpRun:
    wrk: WrkResult
    rows_before: ResultCount
    rows_after: ResultCount
    cpu: CpuUsage
    profile: str | None  # py-spy summary (--profile)
    busy_before: float | None  # machine's busy cores just before (None: not checked)


@dataclass(frozen=True)
class Measurement:
    engine: str
    settings: dict[str, Any]
    machine: dict[str, Any]
    http: HttpRun
    pgbench: PgbenchResult | None = None
    pgbench_cpu: CpuUsage | None = None
    pgbench_busy_before: float | None = None
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
        found = []
        if w.errors:
            found.append(
                f"{w.errors} errors ({w.bad} non-success answers, {w.socket_errors} socket)"
            )
        if w.exhausted:
            found.append(f"wrk threads ran out of pre-signed requests ({w.exhausted} missing)")
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
        return found

    def verdict(self) -> str:
        if self.problems():
            return "FAIL (invalid run)"
        noisy = " · noisy: re-run on a quiet machine" if noise_notes(self) else ""
        ratio = self.ratio
        if ratio is None:
            return f"OK (rate only, no bar on SQLite){noisy}"
        return ("PASS" if ratio >= BAR else "FAIL") + noisy


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
        "error_detail": {
            "non_success_answers": w.bad,
            "http_status_ge_400": w.http_errors,
            "socket_errors_and_timeouts": w.socket_errors,
            "exhausted": w.exhausted,
            "samples": w.samples[:5],
        },
        "responses_ok": w.ok,
        "requests_sent": w.sent,
        "in_flight_at_stop": w.in_flight,
        "db_new_result_rows": m.new_rows,
        "db_sessions_opened_during_run": m.sessions_opened,
        "wrk_duration_s": round(w.duration_s, 3),
        "wrk_cpu": {
            "cpu_s": round(w.cpu_s, 2),
            "cores": round(w.cpu_share, 3),
            "share_of_machine": round(w.cpu_share / m.machine["cores"], 3),
        },
        "http_cpu": m.cpu.as_dict(),
        "busy_cores_before": {"pgbench": m.pgbench_busy_before, "http": m.http.busy_before},
        "ratio": round(m.ratio, 4) if m.ratio is not None else None,
        "bar": BAR if m.pgbench else None,
        "problems": m.problems(),
        "verdict": m.verdict(),
        "notes": noise_notes(m)
        + (["profiled run: py-spy competed for the CPU"] if m.http.profile else []),
        "profile": m.http.profile.splitlines() if m.http.profile else None,
    }


def _cpu_line(cpu: dict[str, Any]) -> str:
    shown = [f"{name} {cpu[name]:.2f}" for name in GROUPS if cpu.get(name)]
    return " · ".join([*shown, f"busy {cpu['machine_busy']:.2f}"])


def noise_notes(m: Measurement, limit: float = NOISE_CORES) -> list[str]:
    """Unrelated processes that used CPU during a phase (the figures are then pessimistic)."""
    phases = [("HTTP run", m.cpu), ("pgbench run", m.pgbench_cpu)]
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
        f"HTTP CPU     {_cpu_line(cpu)} of {mach['cores']} cores;"
        f" wrk {doc['wrk_cpu']['share_of_machine']:.1%} of the machine",
    ]
    if doc["pgbench_cpu"]:
        lines.append(f"pgbench CPU  {_cpu_line(doc['pgbench_cpu'])} of {mach['cores']} cores")
    if doc["db_sessions_opened_during_run"] is not None:
        lines.append(
            f"db sessions  ≈{doc['db_sessions_opened_during_run']} opened while wrk ran"
            " (pool churn; the pools were warm before)"
        )
    if doc["ratio"] is not None:
        lines.append(f"ratio        {doc['ratio']:.3f} of pgbench (bar {doc['bar']})")
    lines += [f"problem      {p}" for p in doc["problems"]]
    lines += [f"note         {n}" for n in doc["notes"]]
    lines += [f"VERDICT      {doc['verdict']}", f"record       {path}", "=" * 72]
    return "\n".join(lines)
