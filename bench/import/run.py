"""Bulk-import throughput: ``openisales import`` against a raw COPY of the same rows.

    .venv/bin/python bench/import/run.py                 # PostgreSQL, 1,000,000 rows, 3 rounds
    .venv/bin/python bench/import/run.py --rows 100000 --rounds 1   # a quicker look
    .venv/bin/python bench/import/run.py --profile       # + a py-spy profile of the import

See README.md next to this file for what is measured and how.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

# bench/common is found in bench/, next to this script's directory.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from common import REPO, cli, machine
from common.db import Psql
from common.harness import OUT_DIR, step, work_directory, write_record
from common.spy import py_spy

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/openisales_bench_import"
VDN_ID = 1
CAMPAIGN_ID = 1
ID_SHIFT = 48
BAR = 0.8  # import rows/s >= BAR x raw COPY rows/s, medians of the rounds (issue 14)
COPY_COLUMNS = (
    "vdn_id, data_id, campaign_id, session_id, custom_field, caller, call_data, recycle_time,"
    " called_nos, next_index, attempt_index, status, attempt_no, next_call_time, created_at,"
    " updated_at"
)
RECYCLE_TIMES = [f"2030-01-{day:02d} 18:00:00" for day in range(1, 8)]


# ---------------------------------------------------------------- data


def customer(n: int) -> dict[str, str]:
    """Row ``n`` of the file: what a CRM export looks like; every 10th customer has two numbers."""
    numbers = [("SI", f"138{n:08d}")]
    if n % 10 == 0:
        numbers.append(("HOME", f"139{n:08d}"))
    return {
        "numbers": "|".join(f"{t}:{x}" for t, x in numbers),
        "called_nos": json.dumps(
            [{"calledNo": x, "type": t} for t, x in numbers], separators=(",", ":")
        ),
        "sessionId": f"c-{n:08d}",
        "customField": f"batch-{n // 10_000:03d}",
        "caller": "88889527",
        "callData": json.dumps({"name": f"Customer {n}", "amount": n % 997}),
        "recycleTime": RECYCLE_TIMES[n % len(RECYCLE_TIMES)],
    }


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def write_files(rows: int, import_file: Path, copy_file: Path) -> None:
    """The import file and the prepared COPY file (CSV) of the same rows, ids and all."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00")
    with (
        import_file.open("w", encoding="utf-8", newline="") as imp,
        copy_file.open("w", encoding="utf-8", newline="") as raw,
    ):
        imp.write("called,sessionId,customField,caller,callData,recycleTime\n")
        for n in range(1, rows + 1):
            c = customer(n)
            imp.write(
                ",".join(
                    _csv_field(c[k])
                    for k in ("numbers", "sessionId", "customField", "caller", "callData")
                )
                + f",{c['recycleTime']}\n"
            )
            raw.write(
                f"{VDN_ID},{(VDN_ID << ID_SHIFT) | n},{CAMPAIGN_ID},{c['sessionId']},"
                f"{c['customField']},{c['caller']},{_csv_field(c['callData'])},"
                f"{c['recycleTime']}+00,{_csv_field(c['called_nos'])},0,0,0,0,"
                f"{stamp},{stamp},{stamp}\n"
            )


# ---------------------------------------------------------------- PostgreSQL


class Postgres(Psql):
    def create_campaign(self) -> None:
        self.psql(
            f"""
INSERT INTO t_isl_campaign
    (vdn_id, campaign_id, name, description, status, device_type, api_version,
     begin_time, end_time, caller_no, max_alerting_time, priority, schedule_param,
     skill_param, init_status, created_at, updated_at)
VALUES ({VDN_ID}, {CAMPAIGN_ID}, 'bench', 'import benchmark', 2, 2, 2,
        now() - interval '1 day', now() + interval '10 years',
        '[{{"accessCode":"88889527","priority":1}}]', 30, NULL, '{{}}', '{{}}', 2, now(), now());
INSERT INTO t_isl_sequence (vdn_id, name, next_value) VALUES ({VDN_ID}, 'campaign', 2);
"""
        )

    def count(self) -> int:
        return int(self.psql("SELECT count(*) FROM t_isl_data"))

    def reset(self) -> None:
        """Empty t_isl_data and flush, so that each phase starts from the same state."""
        self.psql("TRUNCATE t_isl_data")
        self.psql("VACUUM (ANALYZE) t_isl_data")
        self.psql("CHECKPOINT")

    def copy_from(self, path: Path) -> None:
        self.psql(f"\\copy t_isl_data ({COPY_COLUMNS}) FROM '{path}' WITH (FORMAT csv)")


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Phase:
    seconds: float
    rows: int
    cpu_s: float  # the client's CPU (psql or openisales), user + system
    machine_busy: float  # cores busy on the whole machine, on average

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    def as_dict(self) -> dict[str, float]:
        return {
            "seconds": round(self.seconds, 3),
            "rows_per_s": round(self.rate, 1),
            "client_cpu_s": round(self.cpu_s, 2),
            "machine_busy_cores": round(self.machine_busy, 2),
        }


def measure(run: Callable[[], None], rows: int) -> Phase:
    busy0, total0 = machine.cpu_ticks()
    cpu0 = machine.children_cpu_s()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    cpu = machine.children_cpu_s() - cpu0
    busy1, total1 = machine.cpu_ticks()
    share = (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0
    return Phase(seconds, rows, cpu, share * machine.cores())


# ---------------------------------------------------------------- the run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--pg-url", default=DEFAULT_PG_URL, help="database to (re)create and use")
    p.add_argument("--rounds", type=int, default=3, help="COPY/import pairs; medians reported")
    p.add_argument("--profile", action="store_true", help="py-spy the import (extra round)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    a = p.parse_args(argv)
    if a.rows < 1_000 or a.rounds < 1:
        p.error("--rows must be at least 1,000 and --rounds at least 1")
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pg = Postgres(args.pg_url)
    with work_directory("openisales-bench-import-", keep=args.keep) as work:
        started = datetime.now(UTC)
        try:
            step(f"recreating {pg.dbname}")
            pg.recreate()
            env = cli.postgres_env(args.pg_url) | {
                "OPENISALES_DATA_DIR": str(work / "data"),
                "OPENISALES_MAX_UNFINISHED_PER_CAMPAIGN": str(2 * args.rows),
            }
            cli.provision(env, VDN_ID)
            pg.create_campaign()
            import_file, copy_file = work / "calls.csv", work / "copy.csv"
            step(f"writing {args.rows:,} rows to {import_file.name} and {copy_file.name}")
            write_files(args.rows, import_file, copy_file)
            command = [
                cli.CLI, "import", "--vdn", str(VDN_ID), "--campaign", str(CAMPAIGN_ID),
                "--no-progress", str(import_file),
            ]  # fmt: skip

            def run_import(cmd: list[str]) -> None:
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise RuntimeError(f"the import failed:\n{done.stdout}{done.stderr}")

            copies, imports = [], []
            for r in range(1, args.rounds + 1):
                pg.reset()
                step(f"round {r}: raw COPY of {copy_file.name}")
                copies.append(measure(lambda: pg.copy_from(copy_file), args.rows))
                if pg.count() != args.rows:
                    raise RuntimeError("the raw COPY did not load every row")
                step(f"round {r}: raw COPY {copies[-1].seconds:.2f} s; now openisales import")
                pg.reset()
                imports.append(measure(lambda: run_import(command), args.rows))
                if pg.count() != args.rows:
                    raise RuntimeError("the import did not load every row")
                step(f"round {r}: openisales import {imports[-1].seconds:.2f} s")
            profile = None
            if args.profile:
                pg.reset()
                profile = work / "import.speedscope.json"
                step("profiling the import with py-spy")
                run_import(
                    [py_spy(), "record", "--rate", "250", "--format", "speedscope",
                     "-o", str(profile), "--", *command]
                )  # fmt: skip
                saved = OUT_DIR / f"import-profile-{started:%Y%m%dT%H%M%SZ}.speedscope.json"
                OUT_DIR.mkdir(parents=True, exist_ok=True)
                shutil.copy(profile, saved)
                profile = saved
            file_mb = import_file.stat().st_size / 1e6
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            step(f"benchmark aborted: {exc}")
            return 2

    copy_s = median(p.seconds for p in copies)
    import_s = median(p.seconds for p in imports)
    ratio = copy_s / import_s
    doc = {
        "benchmark": "import",
        "started": started.isoformat(timespec="seconds"),
        "machine": machine.describe("PostgreSQL " + pg.setting("server_version")),
        "settings": {
            "rows": args.rows,
            "rounds": args.rounds,
            "file_mb": round(file_mb, 1),
            "command": " ".join(["openisales", *command[1:-1], "calls.csv"]),
            "baseline": f"psql \\copy t_isl_data ({COPY_COLUMNS}) FROM 'copy.csv' (FORMAT csv)",
            "revision": machine.git_revision(),
            "postgres": {
                k: pg.setting(k)
                for k in ("shared_buffers", "synchronous_commit", "max_wal_size", "fsync")
            },
        },
        "raw_copy": [p.as_dict() for p in copies],
        "import": [p.as_dict() for p in imports],
        "raw_copy_rows_per_s": round(args.rows / copy_s, 1),
        "import_rows_per_s": round(args.rows / import_s, 1),
        "ratio": round(ratio, 3),
        "bar": BAR,
        "verdict": "PASS" if ratio >= BAR else "FAIL",
        "profile": str(profile) if profile else None,
    }
    path = write_record(doc, "import", started)
    print(
        f"rows                {args.rows:,} ({file_mb:.0f} MB of CSV)\n"
        f"raw COPY            {copy_s:.2f} s  {args.rows / copy_s:,.0f} rows/s\n"
        f"openisales import   {import_s:.2f} s  {args.rows / import_s:,.0f} rows/s\n"
        f"ratio               {ratio:.2f}  (bar {BAR}) {doc['verdict']}\n"
        f"record              {path.relative_to(REPO)}"
        + (f"\nprofile             {profile}" if profile else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
