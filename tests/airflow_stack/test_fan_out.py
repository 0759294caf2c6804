"""for_each under Airflow's own processes: a mapped SageMaker training task run by the scheduler and
LocalExecutor of the shared features stack - one task instance per element (the REST API's map_index)
and one distinct training job per element on the stack's local endpoint."""

from __future__ import annotations

DAG_ID = "foreach_training"
REGION = "us-east-2"  # environments/local.yaml


def _instances(api, run_id: str) -> list[dict]:
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=100"
    return api.get(path)["task_instances"]


def _jobs(sagemaker, prefix: str) -> dict[str, str]:
    """name -> k of the training jobs whose names start with ``prefix``."""
    summaries = sagemaker.list_training_jobs(NameContains=prefix, MaxResults=100)["TrainingJobSummaries"]
    names = [s["TrainingJobName"] for s in summaries if s["TrainingJobName"].startswith(prefix)]
    described = [sagemaker.describe_training_job(TrainingJobName=n) for n in names]
    assert {d["TrainingJobStatus"] for d in described} == {"Completed"}, described
    return {d["TrainingJobName"]: d["HyperParameters"]["k"] for d in described}


def test_a_mapped_training_task_runs_one_instance_and_one_job_per_element(features_stack):
    api = features_stack.api
    assert DAG_ID in api.dag_ids()
    run_id = api.trigger(DAG_ID, conf={"ks": [7, 9]})
    assert api.wait_for_run(DAG_ID, run_id, timeout=420) == "success", api.task_states(DAG_ID, run_id)

    instances = _instances(api, run_id)
    by_task: dict[str, list[dict]] = {}
    for ti in instances:
        by_task.setdefault(ti["task_id"], []).append(ti)
    for task_id, count in {"train_literal": 3, "train_param": 2}.items():
        assert sorted(ti["map_index"] for ti in by_task[task_id]) == list(range(count))
        assert {ti["state"] for ti in by_task[task_id]} == {"success"}
        assert {ti["operator"] for ti in by_task[task_id]} == {"SageMakerTrainingOperator"}
    assert [ti["map_index"] for ti in by_task["train_param__items"]] == [-1]
    assert [ti["map_index"] for ti in by_task["data_prep"]] == [-1]

    sagemaker = features_stack.aws_client("sagemaker", REGION)
    literal = _jobs(sagemaker, "stack-fan-lit-")
    assert sorted(literal.values()) == ["1", "3", "5"]
    assert sorted(name.split("-")[3] for name in literal) == ["0", "1", "2"]  # -<map index>-<run>-<try>
    param = _jobs(sagemaker, "stack-fan-par-")
    assert sorted(param.values()) == ["7", "9"]  # the run's conf, not the param's default
    assert all(name.endswith("-1") and len(name) <= 63 for name in param)  # each mapped try's own number
