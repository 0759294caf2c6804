"""What the Amazon provider's SageMaker system tests send, built here from the originals' own values.

The originals (apache/airflow, providers/amazon/tests/system/amazon/aws/example_sagemaker*.py, as of the
installed provider 9.x) build their requests at run time in a ``set_up`` task from an ``env_id``, a bucket
and a role. Their files are not in this repository, so each function below rebuilds one original's
requests with the same structure and literal values, taking the run-time parts as arguments: the same
placeholders a port replaces by the environment's bucket, role and region.

Each entry is ``task_id: (operator class, keyword arguments)`` exactly as the original constructs it;
the tests construct the provider's class with them, so what the operator makes of its arguments (the
flat condition form, say) is the provider's own doing, not ours. The originals' clean-ups are Python
tasks calling boto3, not operators: such an entry is a ``Boto3Call``, the SageMaker request the task
sends, keyed by the port's task that sends it (one original task that loops over names is several).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_SM = "airflow.providers.amazon.aws.operators.sagemaker."
_SMS = "airflow.providers.amazon.aws.sensors.sagemaker."


@dataclass(frozen=True)
class Boto3Call:
    """A SageMaker request an original sends with boto3 from a Python task: the API operation, its request,
    and the original task that sends it."""

    operation: str
    request: dict[str, Any]
    task: str


Original = dict[str, tuple[str, dict[str, Any]] | Boto3Call]

ENV_ID = "provider-port"  # the originals' env_id; the ports' names start with it


def endpoint_example(bucket: str, role_arn: str, knn_image_uri: str) -> Original:
    """example_sagemaker_endpoint.py: its set_up task's configs and its operators' other arguments."""
    env_id = ENV_ID
    train_data = "0,4.9,2.5,4.5,1.7\n1,7.0,3.2,4.7,1.4\n0,7.3,2.9,6.3,1.8\n2,5.1,3.5,1.4,0.2\n"
    input_data_s3_key = f"{env_id}/input-data"
    training_output_s3_key = f"{env_id}/results"
    endpoint_config_job_name = f"{env_id}-endpoint-config"
    endpoint_name = f"{env_id}-endpoint"
    model_name = f"{env_id}-KNN-model"
    training_job_name = f"{env_id}-train"
    training_config = {
        "TrainingJobName": training_job_name,
        "RoleArn": role_arn,
        "AlgorithmSpecification": {"TrainingImage": knn_image_uri, "TrainingInputMode": "File"},
        "HyperParameters": {
            "predictor_type": "classifier",
            "feature_dim": "4",
            "k": "3",
            "sample_size": str(train_data.count("\n") - 1),
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "CompressionType": "None",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataDistributionType": "FullyReplicated",
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{bucket}/{input_data_s3_key}/train.csv",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{training_output_s3_key}/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 6 * 60},
    }
    model_config = {
        "ModelName": model_name,
        "ExecutionRoleArn": role_arn,
        "PrimaryContainer": {
            "Mode": "SingleModel",
            "Image": knn_image_uri,
            "ModelDataUrl": f"s3://{bucket}/{training_output_s3_key}/{training_job_name}/output/model.tar.gz",
        },
    }
    endpoint_config_config = {
        "EndpointConfigName": endpoint_config_job_name,
        "ProductionVariants": [
            {
                "VariantName": f"{env_id}-demo",
                "ModelName": model_name,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            },
        ],
    }
    deploy_endpoint_config = {"EndpointName": endpoint_name, "EndpointConfigName": endpoint_config_job_name}
    return {
        "upload_data": (
            "airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator",
            {"s3_bucket": bucket, "s3_key": f"{input_data_s3_key}/train.csv", "data": train_data},
        ),
        "train_model": (_SM + "SageMakerTrainingOperator", {"config": training_config}),
        "create_model": (_SM + "SageMakerModelOperator", {"config": model_config}),
        "configure_endpoint": (_SM + "SageMakerEndpointConfigOperator", {"config": endpoint_config_config}),
        # "SageMakerEndpointOperator waits by default, setting as False to test the Sensor below."
        "deploy_endpoint": (
            _SM + "SageMakerEndpointOperator",
            {"config": deploy_endpoint_config, "wait_for_completion": False},
        ),
        "await_endpoint": (_SMS + "SageMakerEndpointSensor", {"endpoint_name": endpoint_name}),
        "delete_endpoint_config": Boto3Call(
            "DeleteEndpointConfig", {"EndpointConfigName": endpoint_config_job_name}, "delete_endpoint_config"
        ),
        "delete_endpoint": Boto3Call("DeleteEndpoint", {"EndpointName": endpoint_name}, "delete_endpoint"),
        "delete_model": (_SM + "SageMakerDeleteModelOperator", {"config": {"ModelName": model_name}}),
    }


def notebook_example(role_arn: str) -> Original:
    """example_sagemaker_notebook.py: its five notebook operators' arguments."""
    instance_name = f"{ENV_ID}-test-notebook"
    action = {"instance_name": instance_name}
    return {
        "create_instance": (
            _SM + "SageMakerCreateNotebookOperator",
            {
                "instance_name": instance_name,
                "instance_type": "ml.t3.medium",
                "role_arn": role_arn,
                "wait_for_completion": True,
            },
        ),
        "stop_instance": (_SM + "SageMakerStopNotebookOperator", action),
        "start_instance": (_SM + "SageMakerStartNoteBookOperator", action),
        "stop_instance_before_delete": (_SM + "SageMakerStopNotebookOperator", action),
        "delete_instance": (_SM + "SageMakerDeleteNotebookOperator", action),
    }


def condition_example() -> Original:
    """example_sagemaker_condition.py: its three SageMakerConditionOperator gates' arguments."""
    condition = _SM + "SageMakerConditionOperator"
    return {
        "check_accuracy": (
            condition,
            {
                "conditions": [
                    {
                        "type": "GreaterThanOrEqualTo",
                        "left_value": "{{ ti.xcom_pull(task_ids='produce_metrics')['accuracy'] }}",
                        "right_value": 0.9,
                    },
                    {
                        "type": "LessThan",
                        "left_value": "{{ ti.xcom_pull(task_ids='produce_metrics')['loss'] }}",
                        "right_value": 0.1,
                    },
                ],
                "if_task_ids": ["deploy_model"],
                "else_task_ids": ["retrain_model"],
            },
        ),
        "check_bad_accuracy": (
            condition,
            {
                "condition_type": "GreaterThanOrEqualTo",
                "left_value": "{{ ti.xcom_pull(task_ids='produce_bad_metrics')['accuracy'] }}",
                "right_value": 0.9,
                "if_task_ids": ["should_not_run"],
                "else_task_ids": ["should_run"],
            },
        ),
        "check_logical": (
            condition,
            {
                "conditions": [
                    {
                        "type": "Or",
                        "conditions": [
                            {"type": "Equals", "left_value": 1, "right_value": 2},
                            {"type": "Equals", "left_value": 3, "right_value": 3},
                        ],
                    },
                    {"type": "Not", "condition": {"type": "Equals", "left_value": "a", "right_value": "b"}},
                ],
                "if_task_ids": ["logical_pass"],
                "else_task_ids": ["logical_fail"],
            },
        ),
    }


def _dummy_condition(number: int) -> dict[str, Any]:
    """One of the pipeline example's chained condition steps: ``DummyCond<number>``, holding the next one
    (number - 1) in its IfSteps, down to the innermost ``DummyCond`` (number -1), which holds none."""
    return {
        "Name": f"DummyCond{number}" if number >= 0 else "DummyCond",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": "LessThanOrEqualTo", "LeftValue": 3.0, "RightValue": 6.0}],
            "IfSteps": [_dummy_condition(number - 1)] if number >= 0 else [],
            "ElseSteps": [],
        },
    }


def pipeline_definition() -> str:
    """The pipeline example's definition, the JSON text its create_pipeline task sends: 31 chained condition
    steps (DummyCond29 ... DummyCond0, DummyCond), each checking 3 <= 6. The original writes it as one
    string literal (``json.loads(pipeline.definition())`` of the SageMaker SDK, dumped); this is that
    literal, character for character, built by the loop it was written out from."""
    definition = {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": [_dummy_condition(29)],
    }
    return json.dumps(definition)


def pipeline_example(role_arn: str) -> Original:
    """example_sagemaker_pipeline.py: its create_pipeline, delete_pipeline and delete_experiments tasks'
    boto3 requests, and its operators' arguments (``start_pipeline1.output`` is the XComArg that renders as
    the template below)."""
    pipeline_name = f"{ENV_ID}-pipeline"
    start = (_SM + "SageMakerStartPipelineOperator", {"pipeline_name": pipeline_name})
    return {
        "create_pipeline": Boto3Call(
            "CreatePipeline",
            {"PipelineName": pipeline_name, "PipelineDefinition": pipeline_definition(), "RoleArn": role_arn},
            "create_pipeline",
        ),
        "start_pipeline1": start,
        "start_pipeline2": start,
        "stop_pipeline1": (
            _SM + "SageMakerStopPipelineOperator",
            {"pipeline_exec_arn": "{{ ti.xcom_pull(task_ids='start_pipeline1') }}"},
        ),
        "await_pipeline2": (
            _SMS + "SageMakerPipelineSensor",
            {"pipeline_exec_arn": "{{ ti.xcom_pull(task_ids='start_pipeline2') }}"},
        ),
        "delete_pipeline": Boto3Call("DeletePipeline", {"PipelineName": pipeline_name}, "delete_pipeline"),
        # delete_experiments([pipeline_name]): the experiment the definition's PipelineExperimentConfig names
        "delete_experiments": Boto3Call(
            "DeleteExperiment", {"ExperimentName": pipeline_name}, "delete_experiments"
        ),
    }
