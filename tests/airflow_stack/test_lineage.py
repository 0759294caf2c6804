"""OpenLineage under ``make airflow --lineage FILE``: a run of ``iris_training`` through the REST API, then
the file the OpenLineage provider's file transport wrote, one event a line, read as a lineage backend
would: each SageMaker task's COMPLETE event names the S3 locations it read and wrote (the provider's
training and transform operators build these facets from the job's Describe answer; the model's come
from airflow/lineage.py's extractor), so a lineage backend sees data -> training -> model -> scores."""

from __future__ import annotations

import json

import pytest

from .conftest import start_stack, stop_stack, wait_until

BUCKET = "s3://sagemaker-local"


@pytest.fixture(scope="module")
def lineage_stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lineage")
    stack = start_stack(tmp, pipelines=("iris_training",), args=("--lineage", str(tmp / "lineage.jsonl")))
    stack.lineage = tmp / "lineage.jsonl"
    try:
        yield stack
    finally:
        stop_stack(stack)


def _events(path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _datasets(event: dict, side: str) -> set[str]:
    return {f"{d['namespace']}/{d['name']}" for d in event.get(side, [])}


def test_each_sagemaker_job_task_reports_what_it_read_and_wrote(lineage_stack):
    api = lineage_stack.api
    run_id = api.trigger("iris_training")
    assert api.wait_for_run("iris_training", run_id, timeout=600) == "success"

    def completed() -> dict[str, dict]:
        found = {}
        for event in _events(lineage_stack.lineage):
            job = event.get("job", {}).get("name", "")
            if event.get("eventType") == "COMPLETE" and job.startswith("iris_training."):
                found[job.removeprefix("iris_training.")] = event
        return found if {"train_model", "create_model", "test_model"} <= set(found) else {}

    events = wait_until(completed, 60, "COMPLETE events of the tasks")
    train = events["train_model"]
    assert _datasets(train, "inputs") == {f"{BUCKET}/iris/processed-input-data/train.csv"}
    (model,) = _datasets(train, "outputs")
    assert model.startswith(f"{BUCKET}/iris/results/train-iris-") and model.endswith("/output/model.tar.gz")
    assert _datasets(events["create_model"], "inputs") == {model}  # the model reads what training wrote
    test = events["test_model"]
    assert _datasets(test, "inputs") == {f"{BUCKET}/iris/processed-input-data/test.csv"}
    assert _datasets(test, "outputs") == {f"{BUCKET}/iris/results"}
    namespaces = {e["job"]["namespace"] for e in _events(lineage_stack.lineage)}
    assert namespaces == {"sagemaker-pipelines-local"}
