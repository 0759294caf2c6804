"""AutoML jobs, pipeline executions and endpoints against the real local endpoint: a retry adopts what an
earlier try of the same task instance started, a cancel stops it.

A local AutoML job waits for one of the endpoint's two slots, as an AWS job waits for instances: two
held training jobs (``test_one_job_per_task_instance.HELD``) keep it InProgress until the test releases
them. A pipeline execution is held the same way, by its held training step.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from sagemaker_pipelines.airflow.jobs.attempts import CONSUMED_TAG, started_by
from sagemaker_pipelines.airflow.jobs.endpoint import SageMakerEndpointOperator
from sagemaker_pipelines.airflow.jobs.operators import SageMakerAutoMLOperator, SageMakerStartPipelineOperator

from .conftest import BUCKET, REGION, ROLE, SKLEARN_SERVING_IMAGE, iris_split, put, wait_for
from .test_one_job_other_kinds import Recorded
from .test_one_job_per_task_instance import CONN_ID, Job, aws_connection, context, run_in_thread

__all__ = ["aws_connection"]  # the module's connection to the endpoint (an autouse fixture)


def recorded_log(operator: Any) -> Recorded:
    """The operator's log, as records the test can wait for."""
    log = logging.getLogger(f"eo-{uuid.uuid4().hex}")
    log.setLevel(logging.INFO)
    recorded = Recorded()
    log.addHandler(recorded)
    operator.__class__ = type(type(operator).__name__, (type(operator),), {"log": property(lambda _: log)})
    return recorded


class Slots:
    """Both of the endpoint's slots, taken by held training jobs until released."""

    def __init__(self, s3: Any, sm: Any, folder: Path) -> None:
        self.holders = [Job(s3, folder / name) for name in ("a", "b")]
        for holder in self.holders:
            holder.pid.parent.mkdir()
            sm.create_training_job(**holder.config(1))
            holder.wait_running()

    def release(self) -> None:
        for holder in self.holders:
            holder.release.touch()


class AutoML:
    """One task instance's automl task: Iris with a header row, named per try as the kind names it."""

    def __init__(self, s3: Any) -> None:
        self.base = f"eo-ml-{uuid.uuid4().hex[:6]}-20240105T060708"
        train, test = iris_split()
        rows = ["species,a,b,c,d", *(",".join([str(int(r[0])), *map(str, r[1:])]) for r in [*train, *test])]
        self.source = put(s3, f"eo/{self.base}/iris.csv", ("\n".join(rows) + "\n").encode())

    def name(self, try_number: int) -> str:
        return f"{self.base}-{try_number}"

    def operator(self, try_number: int) -> SageMakerAutoMLOperator:
        return SageMakerAutoMLOperator(
            task_id="automl",
            job_name=self.name(try_number),
            s3_input=self.source,
            target_attribute="species",
            s3_output=f"s3://{BUCKET}/eo/{self.base}/out",
            role_arn=ROLE,
            extras={"AutoMLJobConfig": {"CompletionCriteria": {"MaxCandidates": 1}}},
            check_interval=1,
            aws_conn_id=CONN_ID,
            region_name=REGION,
        )

    def create(self, sm: Any, try_number: int) -> None:
        """What try ``try_number`` sent before its worker died."""
        sm.create_auto_ml_job(
            AutoMLJobName=self.name(try_number),
            InputDataConfig=[
                {
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": self.source}},
                    "TargetAttributeName": "species",
                }
            ],
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/eo/{self.base}/out"},
            RoleArn=ROLE,
            AutoMLJobConfig={"CompletionCriteria": {"MaxCandidates": 1}},
        )

    def status(self, sm: Any, try_number: int) -> str:
        return sm.describe_auto_ml_job(AutoMLJobName=self.name(try_number))["AutoMLJobStatus"]

    def jobs(self, sm: Any) -> list[str]:
        """The jobs of this task instance's tries (the local endpoint lists no AutoML jobs)."""
        found = []
        for try_number in range(1, 5):
            try:
                sm.describe_auto_ml_job(AutoMLJobName=self.name(try_number))
            except sm.exceptions.ClientError:
                continue
            found.append(self.name(try_number))
        return found


def test_stop_automl_job_goes_stopping_then_stopped(sm, s3, tmp_path):
    slots = Slots(s3, sm, tmp_path)
    automl = AutoML(s3)
    automl.create(sm, 1)
    assert automl.status(sm, 1) == "InProgress"  # waiting for a slot
    sm.stop_auto_ml_job(AutoMLJobName=automl.name(1))
    assert automl.status(sm, 1) == "Stopping"
    sm.stop_auto_ml_job(AutoMLJobName=automl.name(1))  # again while Stopping: a no-op
    slots.release()
    done = wait_for(
        lambda: sm.describe_auto_ml_job(AutoMLJobName=automl.name(1)), "AutoMLJobStatus", ("Stopped",)
    )
    assert "BestCandidate" not in done and done["AutoMLJobSecondaryStatus"] == "Stopped"
    with pytest.raises(sm.exceptions.ClientError, match="ValidationException"):
        sm.stop_auto_ml_job(AutoMLJobName=automl.name(1))  # an ended job cannot be stopped


def test_an_automl_retry_adopts_the_running_job_and_tags_it_used(sm, s3, tmp_path):
    slots = Slots(s3, sm, tmp_path)
    automl = AutoML(s3)
    automl.create(sm, 1)  # try 1 started its job, then its worker died
    operator = automl.operator(2)
    log = recorded_log(operator)
    thread, outcome = run_in_thread(operator, 2)
    log.wait_for(f"Adopting SageMaker AutoML job {automl.name(1)}")
    slots.release()
    thread.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"]["CandidateStatus"] == "Completed"  # the best candidate, as the provider returns
    assert automl.jobs(sm) == [automl.name(1)]
    arn = sm.describe_auto_ml_job(AutoMLJobName=automl.name(1))["AutoMLJobArn"]
    assert CONSUMED_TAG in {t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
    # A user clears the finished task: try 3 starts its own job rather than take the used result.
    again = automl.operator(3)
    log = recorded_log(again)
    assert again.execute(context(3))["CandidateStatus"] == "Completed"
    log.wait_for("Completed and used by a successful try: starting this try's own job")
    assert automl.jobs(sm) == [automl.name(1), automl.name(3)]


def test_cancelling_an_automl_task_stops_its_job(sm, s3, tmp_path):
    slots = Slots(s3, sm, tmp_path)
    automl = AutoML(s3)
    operator = automl.operator(1)
    log = recorded_log(operator)
    thread, outcome = run_in_thread(operator, 1)
    wait_for(lambda: {"jobs": automl.jobs(sm)}, "jobs", ([automl.name(1)],))
    killer = threading.Thread(target=operator.on_kill, daemon=True)  # what SIGTERM to the task runs
    killer.start()
    log.wait_for(f"Stopping SageMaker AutoML job {automl.name(1)}: the task was cancelled")
    slots.release()  # the job gets its slot, sees the stop request and ends
    killer.join(timeout=90)
    log.wait_for(f"SageMaker AutoML job {automl.name(1)} is Stopped")
    assert automl.status(sm, 1) == "Stopped"
    thread.join(timeout=60)
    assert "Stopped" in str(outcome.get("error")), outcome  # a stopped job fails its try
    assert automl.jobs(sm) == [automl.name(1)]


class Pipeline:
    """A SageMaker pipeline whose one training step holds until released, and a task that starts it."""

    def __init__(self, sm: Any, s3: Any, folder: Path) -> None:
        self.job = Job(s3, folder)
        step = {k: v for k, v in self.job.config(1).items() if k != "TrainingJobName"}
        self.name = f"eo-pipe-{uuid.uuid4().hex[:6]}"
        definition = {
            "Version": "2020-12-01",
            "Steps": [{"Name": "Train", "Type": "Training", "Arguments": step}],
        }
        sm.create_pipeline(PipelineName=self.name, RoleArn=ROLE, PipelineDefinition=json.dumps(definition))

    def operator(self, **kwargs: Any) -> SageMakerStartPipelineOperator:
        return SageMakerStartPipelineOperator(
            task_id="train",
            pipeline_name=self.name,
            display_name="train",
            check_interval=1,
            aws_conn_id=CONN_ID,
            region_name=REGION,
            **kwargs,
        )

    def executions(self, sm: Any) -> list[dict[str, Any]]:
        return sm.list_pipeline_executions(PipelineName=self.name)["PipelineExecutionSummaries"]

    def status(self, sm: Any, arn: str) -> str:
        return sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]


def test_a_pipeline_start_is_idempotent_and_a_retry_adopts_the_running_execution(sm, s3, tmp_path):
    from sagemaker_pipelines.airflow.jobs.attempts import token_of

    pipeline = Pipeline(sm, s3, tmp_path)
    ti = context(1)["ti"]
    sent = {"PipelineName": pipeline.name, "ClientRequestToken": token_of(ti)}
    sent["PipelineExecutionDescription"] = started_by(ti)
    first = sm.start_pipeline_execution(**sent)["PipelineExecutionArn"]  # try 1's call, then it died
    assert sm.start_pipeline_execution(**sent)["PipelineExecutionArn"] == first  # the same token: the same
    pipeline.job.wait_running()
    operator = pipeline.operator(wait_for_completion=True)
    log = recorded_log(operator)
    thread, outcome = run_in_thread(operator, 2)
    log.wait_for(f"Adopting SageMaker pipeline execution {first}")
    pipeline.job.release.touch()
    thread.join(timeout=120)
    assert outcome.get("result") == first, outcome
    assert pipeline.status(sm, first) == "Succeeded"
    assert len(pipeline.executions(sm)) == 1
    assert CONSUMED_TAG in {t["Key"] for t in sm.list_tags(ResourceArn=first)["Tags"]}
    # A user clears the finished task: try 3 starts an execution of its own.
    again = pipeline.operator().execute(context(3))
    descriptions = {
        e["PipelineExecutionArn"]: e["PipelineExecutionDescription"] for e in pipeline.executions(sm)
    }
    assert descriptions == {first: started_by(ti), again: started_by(context(3)["ti"])}


def test_cancelling_a_pipeline_task_stops_its_execution(sm, s3, tmp_path):
    pipeline = Pipeline(sm, s3, tmp_path)
    operator = pipeline.operator(wait_for_completion=True)
    log = recorded_log(operator)
    thread, outcome = run_in_thread(operator, 1)
    pipeline.job.wait_running()
    operator.on_kill()
    log.wait_for("Stopping SageMaker pipeline execution")
    (execution,) = pipeline.executions(sm)
    assert pipeline.status(sm, execution["PipelineExecutionArn"]) == "Stopped"
    log.wait_for(f"SageMaker pipeline execution {execution['PipelineExecutionArn']} is Stopped")
    thread.join(timeout=60)
    assert "error" in outcome, outcome  # the try fails: its execution was stopped
    # The next try finds the stopped execution of try 1 and starts its own.
    retry = pipeline.operator()
    log = recorded_log(retry)
    pipeline.job.release.touch()
    second = retry.execute(context(2))
    log.wait_for("is Stopped: starting this try's own job")
    assert second != execution["PipelineExecutionArn"] and len(pipeline.executions(sm)) == 2


def test_an_endpoint_retry_waits_for_the_endpoint_an_earlier_try_created(sm, s3):
    name = f"eo-ep-{uuid.uuid4().hex[:6]}"
    model_data = _sklearn_model(s3, name)
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": SKLEARN_SERVING_IMAGE,
            "ModelDataUrl": model_data,
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)  # try 1's call, then its worker died
    operator = SageMakerEndpointOperator(
        task_id="endpoint",
        config={"EndpointName": name, "EndpointConfigName": name},
        check_interval=1,
        aws_conn_id=CONN_ID,
        region_name=REGION,
    )
    log = recorded_log(operator)
    result = operator.execute(context(2))
    log.wait_for(f"Adopting SageMaker endpoint {name}, already ")  # Creating, or InService by now
    assert result["Endpoint"]["EndpointStatus"] == "InService"
    assert not any("updating it with the given config instead" in m for m in log.messages)


def _sklearn_model(s3: Any, name: str) -> str:
    """A script-mode scikit-learn model: a fitted classifier and the serving code AutoML candidates use."""
    import io
    import tarfile

    import joblib
    from sklearn.linear_model import LogisticRegression

    from sagemaker_pipelines.local.aws.jobs.automl import INFERENCE

    train, _ = iris_split()
    features = ["a", "b", "c", "d"]
    estimator = LogisticRegression(max_iter=500).fit(train[:, 1:], train[:, 0])
    model = io.BytesIO()
    joblib.dump({"estimator": estimator, "features": features, "columns": features}, model)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for member, data in (("model.joblib", model.getvalue()), ("code/inference.py", INFERENCE.encode())):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return put(s3, f"eo/{name}/model.tar.gz", archive.getvalue())
