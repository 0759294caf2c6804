"""``kind: operator`` under Airflow's own processes: the dag-processor builds the allowed classes from
the environment's list, the scheduler runs them on a LocalExecutor worker, and what they did is on the
stack's AWS endpoint."""

from __future__ import annotations

from .conftest import RunningStack

DAG_ID = "operator_s3"  # pipelines/features/operator_s3.yaml
BUCKET = "sagemaker-local"  # environments/local.yaml


def test_operator_tasks_run_under_the_scheduler_and_change_s3(features_stack: RunningStack):
    api = features_stack.api
    assert DAG_ID in api.dag_ids(), features_stack.output[-3000:]
    tasks = api.get(f"/api/v2/dags/{DAG_ID}/tasks")["tasks"]
    operators = {t["task_id"]: t["operator_name"] for t in tasks}
    assert operators["write_note"] == "S3CreateObjectOperator"
    assert operators["remove_original"] == "S3DeleteObjectsOperator"

    run_id = api.trigger(DAG_ID, conf={"note": "written under the scheduler"})
    state = api.wait_for_run(DAG_ID, run_id, timeout=300)
    states = api.task_states(DAG_ID, run_id)
    assert state == "success", states
    assert states["write_note"] == states["copy_note"] == states["remove_original"] == "success"

    s3 = features_stack.aws_client("s3", "us-east-2")
    body = s3.get_object(Bucket=BUCKET, Key="operator-feature/copy/note.txt")["Body"].read()
    assert body == b"written under the scheduler"
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="operator-feature/")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["operator-feature/copy/note.txt"]
    log = api.task_log(DAG_ID, run_id, "write_note")
    assert "S3CreateObjectOperator" in log or "write_note" in log
