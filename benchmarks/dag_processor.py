"""Real ``airflow dag-processor --num-runs 1`` passes over a DAG folder, timed, read from the metadata DB.

The DagBag runs of ``bench.py`` time the parsing alone, in one process. This is what a deployment runs:
the dag-processor lists the DAG folder, pre-imports each file's ``airflow.*`` imports, forks one parsing
process per file (``[dag_processor] parsing_processes`` at a time), serializes every DAG and writes it
to the metadata database. Its own start-up is part of every pass, for every variant.

Each variant gets its own ``AIRFLOW_HOME`` whose SQLite database is made once by ``airflow db migrate``
and copied aside; before each size N the pristine copy is put back, so every variant starts each N from
the same empty database. The same approach as ``tests/dag_processing/test_dag_processor.py``.

After each pass the database must hold exactly the expected DAGs, all active, none with an import
error, each parsed during that pass (``dag.last_parsed_time``); otherwise the benchmark stops.
``dag.last_parse_duration`` is Airflow's own time for each file (from forking its parsing process to
collecting its result): the slowest one is what ``dagbag_import_timeout`` (30 s by default) bounds.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

AIRFLOW = Path(sys.executable).with_name("airflow")


class PassError(RuntimeError):
    """A pass failed, or the database does not hold what the pass should have written."""


@dataclass
class PassResult:
    label: str
    wall_s: float  # the whole command: start-up, listing, parsing processes, DB writes, shutdown
    dags: int
    parse_sum_s: float  # sum of Airflow's per-file durations (parse-only time of all processes)
    parse_max_s: float  # the slowest file's duration
    slowest: str  # that file's DAG id


class AirflowHome:
    """One variant's AIRFLOW_HOME: a migrated SQLite database kept pristine between sizes."""

    def __init__(self, folder: Path, base_env: dict[str, str]):
        self.folder = folder
        self.db = folder / "airflow.db"
        self.pristine = folder / "pristine.db"
        self.env = {
            **{k: v for k, v in base_env.items() if not k.startswith(("AIRFLOW", "SAGEMAKER_"))},
            "AIRFLOW_HOME": str(folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db}",
            # Passes follow each other within seconds; by default Airflow skips rewriting a DAG's
            # serialized form for 30 s after the last write.
            "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
            "AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY": "False",
            "PATH": os.pathsep.join([str(AIRFLOW.parent), base_env.get("PATH", "")]),
        }
        self.passes = 0

    def migrate(self) -> float:
        """``airflow db migrate`` once; returns its wall time (not part of any pass)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        self._airflow(["db", "migrate"], self.env, self.folder / "migrate.log", timeout=900)
        shutil.copyfile(self.db, self.pristine)
        return time.perf_counter() - start

    def config(self, section: str, key: str) -> str:
        done = subprocess.run(
            [str(AIRFLOW), "config", "get-value", section, key],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else "unknown"

    def reset(self) -> None:
        """The freshly migrated database again, before the passes of the next size."""
        shutil.copyfile(self.pristine, self.db)

    def run_pass(self, label: str, dags_folder: Path, expected: set[str], env: dict[str, str]) -> PassResult:
        """One timed ``dag-processor --num-runs 1``; checks what it wrote."""
        self.passes += 1
        log = self.folder / f"pass-{self.passes:02d}.log"
        full_env = {**self.env, **env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder)}
        started_at = dt.datetime.now(dt.UTC)
        start = time.perf_counter()
        self._airflow(["dag-processor", "--num-runs", "1"], full_env, log, timeout=900 + 2 * len(expected))
        wall = time.perf_counter() - start
        return self._check(label, wall, expected, started_at, log)

    def _check(
        self, label: str, wall: float, expected: set[str], started_at: dt.datetime, log: Path
    ) -> PassResult:
        with sqlite3.connect(self.db) as db:
            rows = db.execute(
                "select dag_id, is_stale, last_parsed_time, last_parse_duration from dag"
            ).fetchall()
            errors = db.execute("select filename, stacktrace from import_error").fetchall()
        if errors:
            shown = "\n".join(f"  {f}: {s[-800:]}" for f, s in errors[:3])
            raise PassError(f"{label}: {len(errors)} import errors (log {log}):\n{shown}")
        active = {dag_id for dag_id, stale, _, _ in rows if not stale}
        if active != expected or len(rows) != len(expected):
            missing = sorted(expected - active)[:5]
            raise PassError(
                f"{label}: {len(active)} active DAGs of {len(rows)}, expected {len(expected)}; "
                f"missing e.g. {missing} (log {log})"
            )
        stale_parse = [d for d, _, parsed, _ in rows if not parsed or _utc(parsed) < started_at]
        if stale_parse:
            raise PassError(
                f"{label}: {len(stale_parse)} DAGs not parsed in this pass, e.g. {stale_parse[:3]}"
            )
        durations = {dag_id: duration or 0.0 for dag_id, _, _, duration in rows}
        slowest = max(durations, key=durations.get)
        return PassResult(label, wall, len(rows), sum(durations.values()), durations[slowest], slowest)

    @staticmethod
    def _airflow(args: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
        with open(log, "w", encoding="utf-8") as out:
            try:
                code = subprocess.run(
                    [str(AIRFLOW), *args], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
                ).returncode
            except subprocess.TimeoutExpired:
                raise PassError(f"airflow {' '.join(args)} ran over {timeout:.0f} s; log {log}") from None
        if code != 0:
            tail = log.read_text(errors="replace")[-3000:]
            raise PassError(f"airflow {' '.join(args)} exited {code}; log {log}:\n{tail}")


def _utc(text: str) -> dt.datetime:
    """A timestamp as Airflow's SQLite columns hold it (UTC, with or without an offset)."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
