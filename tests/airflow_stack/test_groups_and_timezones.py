"""Task groups and a pipeline time zone through Airflow's own processes.

``pipelines/features/groups_berlin.yaml`` is Iris in three task groups (``training`` nested in
``models``), scheduled ``0 6 * * *`` in ``Europe/Berlin``. What is checked is what Airflow itself holds:
the DAG details of the REST API, the serialized DAG the real dag-processor wrote into the stack's
metadata database (deserialized here with Airflow's own ``DagSerialization``, as the scheduler does),
the UI's structure endpoint (what the Graph view draws), and a run under the scheduler.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
import zlib

import pendulum

DAG_ID = "groups_berlin"
TASKS = {"data_prep", "train_model", "create_model", "test_model"}


def _stored_json(stack) -> dict:
    """The newest serialized DAG of the pipeline, as the dag-processor stored it."""
    db = sqlite3.connect(f"file:{stack.state_dir / 'airflow' / 'airflow.db'}?mode=ro", uri=True)
    try:
        data, compressed = db.execute(
            "SELECT data, data_compressed FROM serialized_dag WHERE dag_id = ? ORDER BY created_at DESC",
            (DAG_ID,),
        ).fetchone()
    finally:
        db.close()
    payload = zlib.decompress(compressed).decode() if data is None else data
    return json.loads(payload) if isinstance(payload, str) else payload


def _stored_dag(stack):
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(_stored_json(stack))


def test_airflow_holds_the_time_zone_and_plans_the_next_run_at_six_berlin(features_stack):
    # What the dag-processor stored (the scheduler and the UI read this), and its timetable's zone
    stored = _stored_json(features_stack)["dag"]
    assert stored["timezone"] == "Europe/Berlin"
    assert stored["timetable"]["__var"]["timezone"] == "Europe/Berlin"
    details = features_stack.api.get(f"/api/v2/dags/{DAG_ID}/details")
    # details["timezone"] is not checked: Airflow's details endpoint answers [core] default_timezone for
    # every DAG (DagModel.timezone shadows the DAG's own; apache/airflow#49720, open in 3.3).
    assert details["timetable_summary"] == "0 6 * * *"
    # 2026-03-20 00:00 in Berlin (UTC+1 then), as Airflow stores it
    assert pendulum.parse(details["start_date"]) == pendulum.datetime(2026, 3, 19, 23, tz="UTC")
    # the next run the dag-processor computed, whatever today is: 06:00 Berlin wall-clock time
    after = pendulum.parse(details["next_dagrun_run_after"]).in_timezone("Europe/Berlin")
    assert (after.hour, after.minute) == (6, 0)


def test_the_stored_dag_runs_at_six_berlin_on_both_sides_of_each_dst_change(features_stack):
    from airflow.timetables.base import TimeRestriction

    dag = _stored_dag(features_stack)
    assert str(dag.timezone) == "Europe/Berlin"

    def runs(first: dt.datetime, count: int) -> list[str]:
        restriction = TimeRestriction(earliest=pendulum.instance(first), latest=None, catchup=True)
        found, last = [], None
        for _ in range(count):
            info = dag.timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
            found.append(info.run_after.in_timezone("UTC").strftime("%m-%d %H:%MZ"))
            last = info.data_interval
        return found

    # Berlin moves to summer time on 2026-03-29 and back on 2026-10-25
    march = runs(dt.datetime(2026, 3, 28, tzinfo=dt.UTC), 2)
    october = runs(dt.datetime(2026, 10, 24, tzinfo=dt.UTC), 2)
    assert march == ["03-28 05:00Z", "03-29 04:00Z"]
    assert october == ["10-24 04:00Z", "10-25 05:00Z"]


def _nodes(nodes: list[dict], parent: str | None = None):
    for node in nodes:
        yield parent, node
        yield from _nodes(node.get("children") or [], node["id"])


def test_groups_are_airflows_own_task_groups_with_unprefixed_task_ids(features_stack):
    structure = features_stack.api.get(f"/ui/structure/structure_data?dag_id={DAG_ID}")
    placed = {node["id"]: (parent, node) for parent, node in _nodes(structure["nodes"])}
    assert {"data", "models", "training"} | TASKS <= set(placed)
    assert placed["data_prep"][0] == "data"
    assert placed["training"][0] == "models" and placed["train_model"][0] == "training"
    assert placed["create_model"][0] == "models"
    assert placed["test_model"][0] is None
    assert placed["models"][1]["tooltip"] == "Train the model and create it."
    tasks = features_stack.api.get(f"/api/v2/dags/{DAG_ID}/tasks")["tasks"]
    assert {t["task_id"] for t in tasks} == TASKS  # no "models.training.train_model"
    edges = {(e["source_id"], e["target_id"]) for e in structure["edges"]}
    chain = [("data_prep", "train_model"), ("train_model", "create_model"), ("create_model", "test_model")]
    assert set(chain) <= edges


def test_a_run_that_waits_for_groups_succeeds_in_order_under_the_scheduler(features_stack):
    run_id = features_stack.api.trigger(DAG_ID)
    state = features_stack.api.wait_for_run(DAG_ID, run_id, timeout=400)
    assert state == "success", features_stack.api.task_states(DAG_ID, run_id)
    tis = features_stack.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
    times = {ti["task_id"]: (pendulum.parse(ti["start_date"]), pendulum.parse(ti["end_date"])) for ti in tis}
    assert set(times) == TASKS and all(ti["state"] == "success" for ti in tis)
    order = ["data_prep", "train_model", "create_model", "test_model"]  # train waits for group data, ...
    for before, after in itertools.pairwise(order):
        assert times[before][1] <= times[after][0], (before, after, times)
