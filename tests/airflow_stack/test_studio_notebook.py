"""A studio_notebook task under the real scheduler (``make airflow``): the shipped notebook
``include/iris_report.ipynb`` run by the provider's SageMakerNotebookOperator in a LocalExecutor task
process, whose sagemaker_studio SDK reaches DataZone, SSM, SageMaker and S3 only through the variables
the stack gives every process (the local guard refuses the task otherwise).

``pipelines/features/studio_report.yaml``: one task, its ``min_accuracy`` a run parameter.
"""

from __future__ import annotations

import io
import json
import tarfile

DAG_ID = "studio_report"
REGION = "us-east-2"  # environments/local.yaml


def _xcom(stack, run_id: str, key: str) -> str:
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/iris_report/xcomEntries/{key}"
    value = stack.api.get(path)["value"]
    return value if isinstance(value, str) else json.loads(value)


def test_the_notebook_runs_under_the_scheduler_and_its_output_is_in_s3(features_stack):
    run_id = features_stack.api.trigger(DAG_ID, conf={"min_accuracy": 0.9})
    state = features_stack.api.wait_for_run(DAG_ID, run_id, timeout=300)
    assert state == "success", features_stack.api.task_log(DAG_ID, run_id, "iris_report")[-4000:]
    s3_path = _xcom(features_stack, run_id, "s3_path")  # what the hook pushed while it waited
    bucket, _, key = s3_path.removeprefix("s3://").partition("/")
    body = features_stack.aws_client("s3", REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(".ipynb"))
        notebook = json.load(archive.extractfile(member))
    printed = "".join(o.get("text", "") for c in notebook["cells"] for o in c.get("outputs", []))
    assert "k=3 accuracy=" in printed and "(at least 0.9)" in printed


def test_a_failing_cell_fails_the_task_under_the_scheduler(features_stack):
    run_id = features_stack.api.trigger(DAG_ID, conf={"min_accuracy": 1.01})
    assert features_stack.api.wait_for_run(DAG_ID, run_id, timeout=300) == "failed"
    assert features_stack.api.task_states(DAG_ID, run_id) == {"iris_report": "failed"}
    assert "is below 1.01" in features_stack.api.task_log(DAG_ID, run_id, "iris_report")
