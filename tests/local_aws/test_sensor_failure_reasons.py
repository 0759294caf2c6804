"""A sensor that sees a job fail says why, in the words of the job's Describe* answer, not "Unknown".

The project's processing and SageMaker Pipelines sensors (airflow/sensors.py) poke the real local
endpoint, as a task does, about a job and an execution that really failed there.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from sagemaker_pipelines.airflow.sensors import SageMakerPipelineSensor, SageMakerProcessingSensor

from .conftest import ROLE, failing_processing_job, wait_for
from .test_one_job_per_task_instance import CONN_ID, aws_connection

__all__ = ["aws_connection"]  # the module's connection to the endpoint (an autouse fixture)


def test_a_failed_processing_job_fails_its_sensor_with_the_jobs_own_reason(sm, s3):
    described = failing_processing_job(sm, s3, "reasons-broken", "the input table is empty")
    assert described["ProcessingJobStatus"] == "Failed"
    sensor = SageMakerProcessingSensor(task_id="watch", job_name="reasons-broken", aws_conn_id=CONN_ID)
    with pytest.raises(AirflowException) as failed:
        sensor.poke({})
    assert "the input table is empty" in str(failed.value) and "Unknown" not in str(failed.value)


def test_a_failed_pipeline_execution_fails_its_sensor_with_the_executions_reason(sm: Any):
    definition = {
        "Version": "2020-12-01",
        "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "accuracy below the bar"}}],
    }
    sm.create_pipeline(PipelineName="reasons", RoleArn=ROLE, PipelineDefinition=json.dumps(definition))
    arn = sm.start_pipeline_execution(PipelineName="reasons")["PipelineExecutionArn"]
    described = wait_for(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn),
        "PipelineExecutionStatus",
        ("Succeeded", "Failed", "Stopped"),
    )
    assert described["PipelineExecutionStatus"] == "Failed"
    sensor = SageMakerPipelineSensor(task_id="watch", pipeline_exec_arn=arn, aws_conn_id=CONN_ID)
    with pytest.raises(AirflowException) as failed:
        sensor.poke({})
    assert "accuracy below the bar" in str(failed.value) and "Unknown" not in str(failed.value)
