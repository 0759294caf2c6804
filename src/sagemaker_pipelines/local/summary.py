"""The summary `make run` prints: tasks, S3 objects written, warehouse rows and model accuracy.

Collected from Airflow's metadata database (task instances and XComs), the S3 endpoint the run
used, and the warehouse database - the real outputs, not what the run meant to do.

The verdict is the tasks': Airflow sets a run's state from its leaf tasks, so a clean-up leaf with
``trigger_rule: all_done`` made a run with a failed task "success". Here any failed task fails the run,
and the summary names it. The summary never needs the emulator: when it is gone, the S3 part says so.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagemaker_pipelines.local.outcomes import collect_outcomes, outcome_lines
from sagemaker_pipelines.local.provision import clients


def _returned(dag_run, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key="return_value"
        )
        row = session.scalars(query).first()
        return XComModel.deserialize_value(row) if row is not None else None


def _objects_written(s3, since: float) -> list[dict[str, Any]]:
    written = []
    for bucket in s3.list_buckets().get("Buckets", []):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                if obj["LastModified"].timestamp() >= since - 1:
                    written.append({"uri": f"s3://{bucket['Name']}/{obj['Key']}", "bytes": obj["Size"]})
    return sorted(written, key=lambda o: o["uri"])


def _read(s3, uri: str) -> str | None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except Exception:
        return None


def parse_prediction(line: str) -> float:
    """A prediction as a number, from CSV (``2.0``) or JSON (``{"predicted_label": 2.0}``) output."""
    line = line.strip()
    if line.startswith("{"):
        value = json.loads(line)
        for key in ("predicted_label", "score", "label"):
            if key in value:
                return float(value[key])
        raise ValueError(f"no prediction in {line}")
    return float(line.split(",")[0])


def _accuracy(s3, description: dict[str, Any]) -> dict[str, Any] | None:
    """Accuracy where labels exist: ``<input>_labels.csv`` beside a transform's input file."""
    transform = description.get("Transform", {})
    source = (
        transform.get("TransformInput", {}).get("DataSource", {}).get("S3DataSource", {}).get("S3Uri", "")
    )
    output = transform.get("TransformOutput", {}).get("S3OutputPath", "")
    if not source.endswith(".csv") or not output:
        return None
    labels_text = _read(s3, source[: -len(".csv")] + "_labels.csv")
    predictions_text = _read(s3, f"{output.rstrip('/')}/{source.rsplit('/', 1)[-1]}.out")
    if labels_text is None or predictions_text is None:
        return None
    labels = [float(x.split(",")[0]) for x in labels_text.splitlines() if x.strip()]
    predictions = [parse_prediction(x) for x in predictions_text.splitlines() if x.strip()]
    correct = sum(1 for p, y in zip(predictions, labels, strict=False) if round(p) == round(y))
    return {
        "accuracy": correct / len(labels),
        "correct": correct,
        "records": len(labels),
        "predictions": len(predictions),
    }


def _table_rows(warehouse_db: Path, table: str) -> int | None:
    if not warehouse_db.exists():
        return None
    with sqlite3.connect(warehouse_db) as db:
        try:
            return db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        except sqlite3.Error:
            return None


FAILED_STATES = ("failed", "upstream_failed")  # either makes the run's verdict "failed"


def verdict(dag_run_state: str, tasks: list[dict[str, Any]], stopped: str = "") -> str:
    """The run's state as the summary reports it: interrupted, failed if any task failed, else Airflow's."""
    if stopped == "interrupted":
        return "interrupted"
    if any(t["state"] in FAILED_STATES for t in tasks) or stopped:
        return "failed"
    return dag_run_state


def _operator_name(task: Any) -> str:
    """The operator's class name; a mapped task (for_each) is named by the class it maps."""
    return getattr(task, "operator_class", type(task)).__name__


def collect_summary(
    dag, dag_run, env, aws, warehouse_db: Path, started: float, stopped: str = ""
) -> dict[str, Any]:
    """``stopped``: "interrupted", or why the run ended early (the emulator stopped); "" when it ran out."""
    s3, _ = clients(env, aws)
    tasks = []
    accuracy = {}
    loaded = {}
    instances = dag_run.get_task_instances() if dag_run is not None else []
    for ti in sorted(instances, key=lambda t: t.start_date or datetime.max.replace(tzinfo=UTC)):
        tasks.append(
            {
                "task_id": ti.task_id,
                "operator": _operator_name(dag.get_task(ti.task_id)),
                "map_index": ti.map_index,  # for_each: one instance per element; -1 for a task not mapped
                "state": str(ti.state),
                "seconds": round(ti.duration or 0, 1),
                "tries": ti.try_number,
            }
        )
        operator = tasks[-1]["operator"]
        mapped = ti.map_index >= 0  # for_each: one output per element, no single accuracy
        if (
            operator == "SageMakerTransformOperator"
            and str(ti.state) == "success"
            and not (stopped or mapped)
        ):
            found = _reachable(lambda ti=ti: _accuracy(s3, _returned(dag_run, ti.task_id) or {}))
            if found:
                accuracy[ti.task_id] = found
        if operator == "S3ToSqlOperator":
            table = dag.get_task(ti.task_id).table
            loaded[table] = _table_rows(warehouse_db, table)
    run_state = str(dag_run.state) if dag_run is not None else "failed"
    objects = _reachable(lambda: _objects_written(s3, started))
    return {
        "dag_id": dag.dag_id,
        "run_id": dag_run.run_id if dag_run is not None else None,
        "environment": env.name,
        "state": verdict(run_state, tasks, stopped),
        "airflow_state": run_state,
        "stopped": stopped,
        "failed_tasks": [t["task_id"] for t in tasks if t["state"] == "failed"],
        "not_run_tasks": [t["task_id"] for t in tasks if t["state"] == "upstream_failed"],
        "seconds": round(datetime.now(UTC).timestamp() - started, 1),
        "tasks": tasks,
        "s3_objects": objects,  # None: the endpoint was gone
        "warehouse": {"database": str(warehouse_db), "tables": loaded},
        "accuracy": accuracy,
        **collect_outcomes(dag, dag_run, _returned),  # registered model versions, quality gates
        "notifications": _notifications(),  # what notify: sent, in this process (dag.test runs them here)
    }


def _reachable(read):
    """``read()``, or None when the emulator is not answering any more (it was stopped or killed)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return read()
    except (BotoCoreError, ClientError, OSError):
        return None


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KB" if n < 1024**2 else f"{n / 1024**2:.1f} MB"


def print_summary(summary: dict[str, Any]) -> None:
    head = f"{summary['dag_id']}: {summary['state']} in {summary['seconds']} s"
    out = [f"\n== {head} (environment {summary['environment']})"]
    failed = summary.get("failed_tasks") or []
    if failed:
        out.append(f"failed tasks: {', '.join(failed)}")
    not_run = summary.get("not_run_tasks") or []
    if not_run:  # they did not fail: a task they depend on did
        out.append(f"not run (upstream failed): {', '.join(not_run)}")
    if summary["state"] == "failed" and summary.get("airflow_state") == "success":
        out.append("(Airflow marked the run a success: its leaf tasks succeeded after a failure)")
    if summary.get("stopped") and summary["stopped"] != "interrupted":
        out.append(f"stopped early: {summary['stopped']}")
    shown = [
        t["task_id"] + (f"[{t['map_index']}]" if t.get("map_index", -1) >= 0 else "")
        for t in summary["tasks"]
    ]
    width = max(len("task"), *(len(name) for name in shown)) + 2
    states = max(len("state"), *(len(t["state"]) for t in summary["tasks"])) + 2
    out.append(f"{'task':<{width}}{'state':<{states}}{'time':>8}  operator")
    for name, t in zip(shown, summary["tasks"], strict=True):
        tries = f" ({t['tries']} tries)" if t["tries"] > 1 else ""
        out.append(f"{name:<{width}}{t['state']:<{states}}{t['seconds']:>6.1f} s  {t['operator']}{tries}")
    if summary["s3_objects"] is None:
        out.append("S3 objects written: unknown (the local AWS endpoint is not answering any more)")
    else:
        out.append(f"S3 objects written ({len(summary['s3_objects'])}):")
        out += [f"  {o['uri']}  ({_size(o['bytes'])})" for o in summary["s3_objects"]]
    for table, rows in summary["warehouse"]["tables"].items():
        out.append(f"Warehouse: table {table} has {rows} rows ({summary['warehouse']['database']})")
    for task_id, a in summary["accuracy"].items():
        score = f"{a['accuracy']:.3f} ({a['correct']}/{a['records']})"
        out.append(f"Accuracy of {task_id} on the held-out split: {score}")
    out += outcome_lines(summary)
    out += _notification_lines(summary.get("notifications") or [])
    with contextlib.suppress(OSError):  # the terminal is gone (SIGHUP): the --report file still has it
        print("\n".join(out), flush=True)


def _notifications() -> list[dict[str, Any]]:
    from sagemaker_pipelines.airflow.notifiers import sent

    return sent()


def _notification_lines(sent: list[dict[str, Any]]) -> list[str]:
    """``notifications: 2 sent to team (file ...)``, then one line per notification with its message."""
    if not sent:
        return []
    names = sorted({n["name"] for n in sent})
    failed = sum(1 for n in sent if "error" in n)
    head = f"notifications: {len(sent) - failed} sent to {', '.join(names)}" + (
        f", {failed} failed" if failed else ""
    )
    lines = [head]
    for n in sent:
        where = f"task {n['task_id']}" if n.get("task_id") else "the run"
        said = f"FAILED: {n['error']}" if "error" in n else n["message"]
        lines.append(f"  {n['name']} ({n['type']} {n['target']}), {n['event']} of {where}: {said}")
    return lines
