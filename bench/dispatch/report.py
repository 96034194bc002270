"""The run's checks, its summary block and its JSON record (bench/out/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis import Integrity, Quantiles, Timing
from baseline import BaselineResult

from common.machine import CpuUsage

BAR_RATE = 2_000.0  # dispatches/s
BAR_RATIO = 0.25  # dispatches/s ÷ the baseline's raw claims/s
BAR_DUPLICATES = 0
BAR_P99_LATENESS_S = 0.1  # every retry, and those scheduled after the first-call backlog
NOISE_CORES = 0.15  # 'other' CPU above this during a phase is worth a note


@dataclass(frozen=True)
class Measurement:
    engine: str
    settings: dict[str, Any]
    machine: dict[str, Any]
    timing: Timing
    integrity: Integrity
    worker_cpu: CpuUsage
    timed_out: bool
    baseline: BaselineResult | None = None
    baseline_cpu: CpuUsage | None = None
    profile: str | None = None
    notes: list[str] = field(default_factory=list)
    worker_errors: list[str] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.rate:
            return None
        return self.timing.rate / self.baseline.rate

    def checks(self) -> dict[str, bool]:
        """The issues' bars (PostgreSQL), plus the run's integrity."""
        t = self.timing

        def on_time(q: Quantiles) -> bool:
            return q.p99 is not None and q.p99 <= BAR_P99_LATENESS_S

        checks = {
            f"dispatches/s >= {BAR_RATE:,.0f}": t.rate >= BAR_RATE,
            f"dispatches/s >= {BAR_RATIO:g} x baseline claims/s": self.ratio is not None
            and self.ratio >= BAR_RATIO,
            f"duplicates = {BAR_DUPLICATES}": self.integrity.duplicates == BAR_DUPLICATES,
            f"p99 lateness <= {BAR_P99_LATENESS_S:g} s": on_time(t.lateness),
            f"p99 lateness after the backlog <= {BAR_P99_LATENESS_S:g} s": on_time(
                t.lateness_after_backlog
            ),
        }
        if self.engine != "postgres":
            checks = {k: v for k, v in checks.items() if k.startswith("duplicates")}
        checks[
            "every record dialled as the policy says, none open, no worker error"
        ] = not self.problems()
        return checks

    def problems(self) -> list[str]:
        found = self.integrity.problems()
        if self.timed_out:
            found.append("timed out")
        if self.worker_errors:
            found.append(f"{len(self.worker_errors)} error lines in the worker logs")
        return found

    def verdict(self) -> str:
        passed = all(self.checks().values())
        if self.engine != "postgres":
            return "OK (rate only, no bar on SQLite)" if passed else "FAIL"
        verdict = "PASS" if passed else "FAIL"
        return (
            f"{verdict} (experiment, not for the record)"
            if self.settings["experiment"]
            else verdict
        )


def _lateness(q: Quantiles) -> dict[str, object]:
    return q.as_dict()


def document(m: Measurement) -> dict[str, Any]:
    t = m.timing
    return {
        "benchmark": "dispatch",
        "date": m.started.isoformat(timespec="seconds"),
        "engine": m.engine,
        "machine": m.machine,
        "settings": m.settings,
        "baseline": m.baseline.as_dict() if m.baseline else None,
        "baseline_claims_per_s": round(m.baseline.rate, 1) if m.baseline else None,
        "dispatches_per_s": round(t.rate, 1),
        "ratio": round(m.ratio, 4) if m.ratio is not None else None,
        "attempts": t.attempts,
        "first_attempts": t.first_attempts,
        "retries": t.retries,
        "wall_s": round(t.wall_s, 3),
        "first_attempts_per_s": round(t.first_attempt_rate, 1),
        "backlog_drained_after_s": round(t.backlog_drained_at - t.first_at, 3),
        "duplicates": m.integrity.duplicates,
        "integrity": m.integrity.as_dict(),
        "first_attempt_lateness": _lateness(t.first_lateness),
        "lateness": {
            "all_retries": _lateness(t.lateness),
            "due_during_backlog": _lateness(t.lateness_during_backlog),
            "scheduled_after_backlog": _lateness(t.lateness_after_backlog),
            "beyond_claim_order_wait": _lateness(t.excess),
            "claim_order": "due retries first" if t.retries_first else "oldest due first",
        },
        "timed_out": m.timed_out,
        "cpu": {
            "workers_phase": m.worker_cpu.as_dict(),
            "baseline_phase": m.baseline_cpu.as_dict() if m.baseline_cpu else None,
        },
        "checks": m.checks(),
        "problems": m.problems(),
        "worker_errors": m.worker_errors[:20],
        "verdict": m.verdict(),
        "notes": noise_notes(m),
        "profile": m.profile.splitlines() if m.profile else None,
    }


def noise_notes(m: Measurement) -> list[str]:
    phases = [("worker run", m.worker_cpu), ("baseline", m.baseline_cpu)]
    notes = [*m.notes]
    notes += [
        f"{name}: unrelated processes used {cpu.groups['other']:.2f} cores (figures pessimistic)"
        for name, cpu in phases
        if cpu is not None and cpu.groups["other"] > NOISE_CORES
    ]
    if m.profile:
        notes.append("profiled run: py-spy competed for the CPU (not for the record)")
    return notes


def _q(q: dict[str, Any]) -> str:
    if not q["count"]:
        return "none"
    spread = f"p50 {q['p50_s']:.3f} s · p99 {q['p99_s']:.3f} s · max {q['max_s']:.3f} s"
    return f"{spread} (n={q['count']:,})"


def summary(doc: dict[str, Any], path: Path) -> str:
    mach, st, late = doc["machine"], doc["settings"], doc["lateness"]
    lines = [
        "",
        "=" * 76,
        f"dispatch benchmark · {doc['engine']} · {doc['date']}",
        f"machine      {mach['cpu_model']}, {mach['cores']} cores, {mach['database']}",
        f"settings     {st['records']:,} records, {st['workers']} worker(s), claim batch"
        f" {st['claim_batch']}, retry after {st['retry_interval_s']} s, revision {st['revision']}"
        + (" · EXPERIMENT: " + st["experiment"] if st.get("experiment") else ""),
    ]
    if doc["baseline"]:
        b = doc["baseline"]
        lines.append(
            f"baseline     {b['claims_per_s']:,.1f} claims/s (dispatch.claim's"
            f" {b['statements_per_round']} statement(s) raw, {b['clients']} clients,"
            f" batch {b['batch']}, {b['records_claimed']:,} in {b['wall_s']} s)"
        )
    lines += [
        f"dispatches   {doc['dispatches_per_s']:,.1f} /s ({doc['attempts']:,} attempts ="
        f" {doc['first_attempts']:,} first + {doc['retries']:,} retries in {doc['wall_s']} s)",
        f"first calls  {doc['first_attempts_per_s']:,.1f} /s; backlog drained after"
        f" {doc['backlog_drained_after_s']} s",
        f"duplicates   {doc['duplicates']}",
        *([f"first late   {_q(doc['first_attempt_lateness'])}"] if st.get("due_spread_s") else []),
        f"lateness     {_q(late['all_retries'])}",
        f"  in backlog     {_q(late['due_during_backlog'])}",
        f"  after backlog  {_q(late['scheduled_after_backlog'])}",
        f"  beyond order   {_q(late['beyond_claim_order_wait'])} ({late['claim_order']})",
        f"worker CPU   {_cpu(doc['cpu']['workers_phase'])}",
    ]
    if doc["cpu"]["baseline_phase"]:
        lines.append(f"baseline CPU {_cpu(doc['cpu']['baseline_phase'])}")
    if doc["ratio"] is not None:
        lines.append(f"ratio        {doc['ratio']:.3f} of the baseline claim rate")
    lines += [
        f"check        {'PASS' if ok else 'FAIL'}  {name}" for name, ok in doc["checks"].items()
    ]
    lines += [f"problem      {p}" for p in doc["problems"]]
    lines += [f"note         {n}" for n in doc["notes"]]
    lines += [f"VERDICT      {doc['verdict']}", f"record       {path}", "=" * 76]
    return "\n".join(lines)


def _cpu(cpu: dict[str, float]) -> str:
    names = [k for k in cpu if k not in ("wall_s", "machine_busy")]
    shown = [f"{k} {cpu[k]:.2f}" for k in names]
    return " · ".join([*shown, f"machine busy {cpu['machine_busy']:.2f} (cores)"])
