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


def _generate_data(sample_size: int) -> str:
    """example_sagemaker.py's generate_data(): a header and one row ``i % 100, i, size - i`` per sample."""
    return "class,x,y\n" + "".join(f"{i % 100},{i},{sample_size - i}\n" for i in range(sample_size))


def sagemaker_example(bucket: str, role_arn: str, knn_image_uri: str, preprocessing_image: str) -> Original:
    """example_sagemaker.py: its set_up task's configs, its operators' other arguments and its clean-ups'
    boto3 requests. ``preprocessing_image`` is the ECR repository URI its set_up creates and pushes the
    preprocessing image to. Its ECR, Docker and bucket clean-ups are not SageMaker requests and have no
    counterpart in the port."""
    env_id = ENV_ID
    sample_size = 600
    model_name = f"{env_id}-KNN-model"
    processing_job_name = f"{env_id}-processing"
    training_job_name = f"{env_id}-train"
    transform_job_name = f"{env_id}-transform"
    tuning_job_name = f"{env_id}-tune"
    model_package_group_name = f"{env_id}-group"
    auto_ml_job_name = f"{env_id}-automl"
    experiment_name = f"{env_id}-experiment"
    input_data_s3_key = f"{env_id}/processed-input-data"
    prediction_output_s3_key = f"{env_id}/transform"
    processing_local_input_path = "/opt/ml/processing/input"
    processing_local_output_path = "/opt/ml/processing/output"
    raw_data_s3_key = f"{env_id}/preprocessing/input.csv"
    training_output_s3_key = f"{env_id}/results"
    resource_config = {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
    input_data_uri = f"s3://{bucket}/{raw_data_s3_key}"
    processing_config = {
        "ProcessingJobName": processing_job_name,
        "ProcessingInputs": [
            {
                "InputName": "input",
                "AppManaged": False,
                "S3Input": {
                    "S3Uri": input_data_uri,
                    "LocalPath": processing_local_input_path,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                    "S3CompressionType": "None",
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "output",
                    "S3Output": {
                        "S3Uri": f"s3://{bucket}/{input_data_s3_key}",
                        "LocalPath": processing_local_output_path,
                        "S3UploadMode": "EndOfJob",
                    },
                    "AppManaged": False,
                }
            ]
        },
        "ProcessingResources": {"ClusterConfig": resource_config},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "AppSpecification": {"ImageUri": preprocessing_image},
        "RoleArn": role_arn,
    }
    training_data_source = {
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
    training_config = {
        "AlgorithmSpecification": {"TrainingImage": knn_image_uri, "TrainingInputMode": "File"},
        "HyperParameters": {
            "predictor_type": "classifier",
            "feature_dim": "2",
            "k": "3",
            "sample_size": str(sample_size),
        },
        "InputDataConfig": [{"ChannelName": "train", **training_data_source}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{training_output_s3_key}/"},
        "ExperimentConfig": {"ExperimentName": experiment_name},
        "ResourceConfig": resource_config,
        "RoleArn": role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "TrainingJobName": training_job_name,
    }
    model_trained_weights = f"s3://{bucket}/{training_output_s3_key}/{training_job_name}/output/model.tar.gz"
    model_config = {
        "ExecutionRoleArn": role_arn,
        "ModelName": model_name,
        "PrimaryContainer": {
            "Mode": "SingleModel",
            "Image": knn_image_uri,
            "ModelDataUrl": model_trained_weights,
        },
    }
    tuning_config = {
        "HyperParameterTuningJobName": tuning_job_name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"MetricName": "test:accuracy", "Type": "Maximize"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 10},
            "ParameterRanges": {
                "CategoricalParameterRanges": [],
                "IntegerParameterRanges": [
                    {"Name": "k", "MinValue": "1", "MaxValue": str(sample_size)},
                    {"Name": "sample_size", "MinValue": "1", "MaxValue": str(sample_size)},
                ],
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"predictor_type": "classifier", "feature_dim": "2"},
            "AlgorithmSpecification": {"TrainingImage": knn_image_uri, "TrainingInputMode": "File"},
            "InputDataConfig": [
                {"ChannelName": "train", **training_data_source},
                {"ChannelName": "test", **training_data_source},
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{training_output_s3_key}"},
            "ResourceConfig": resource_config,
            "RoleArn": role_arn,
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }
    transform_config = {
        "TransformJobName": transform_job_name,
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{bucket}/{input_data_s3_key}/test.csv",
                }
            },
            "SplitType": "Line",
            "ContentType": "text/csv",
        },
        "TransformOutput": {"S3OutputPath": f"s3://{bucket}/{prediction_output_s3_key}"},
        "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
        "ModelName": model_name,
    }
    not_waiting = {"wait_for_completion": False}  # each job's operator, "to test the Sensor below"
    return {
        "upload_dataset": (
            "airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator",
            {
                "s3_bucket": bucket,
                "s3_key": raw_data_s3_key,
                "data": _generate_data(sample_size),
                "replace": True,
            },
        ),
        "auto_ML": (
            _SM + "SageMakerAutoMLOperator",
            {
                "job_name": auto_ml_job_name,
                "s3_input": input_data_uri,
                "target_attribute": "class",
                "s3_output": f"s3://{bucket}/{training_output_s3_key}",
                "role_arn": role_arn,
                "time_limit": 30,
                **not_waiting,
            },
        ),
        "await_auto_ML": (_SMS + "SageMakerAutoMLSensor", {"job_name": auto_ml_job_name}),
        "create_experiment": (_SM + "SageMakerCreateExperimentOperator", {"name": experiment_name}),
        "preprocess_raw_data": (
            _SM + "SageMakerProcessingOperator",
            {"config": processing_config, **not_waiting},
        ),
        "await_preprocess": (_SMS + "SageMakerProcessingSensor", {"job_name": processing_job_name}),
        "train_model": (_SM + "SageMakerTrainingOperator", {"config": training_config, **not_waiting}),
        "await_training": (_SMS + "SageMakerTrainingSensor", {"job_name": training_job_name}),
        "create_model": (_SM + "SageMakerModelOperator", {"config": model_config}),
        "register_model": (
            _SM + "SageMakerRegisterModelVersionOperator",
            {
                "image_uri": knn_image_uri,
                "model_url": model_trained_weights,
                "package_group_name": model_package_group_name,
            },
        ),
        "tune_model": (_SM + "SageMakerTuningOperator", {"config": tuning_config, **not_waiting}),
        "await_tuning": (_SMS + "SageMakerTuningSensor", {"job_name": tuning_job_name}),
        "test_model": (_SM + "SageMakerTransformOperator", {"config": transform_config, **not_waiting}),
        "await_transform": (_SMS + "SageMakerTransformSensor", {"job_name": transform_job_name}),
        # delete_model_group(group, register_model.output): the version first, then its group
        "delete_model_version": Boto3Call(
            "DeleteModelPackage",
            {"ModelPackageName": "{{ ti.xcom_pull(task_ids='register_model') }}"},
            "delete_model_group",
        ),
        "delete_model_group": Boto3Call(
            "DeleteModelPackageGroup",
            {"ModelPackageGroupName": model_package_group_name},
            "delete_model_group",
        ),
        "delete_model": (_SM + "SageMakerDeleteModelOperator", {"config": {"ModelName": model_name}}),
        "stop_automl_job": Boto3Call("StopAutoMLJob", {"AutoMLJobName": auto_ml_job_name}, "stop_automl_job"),
        # delete_experiments([...]): its own, and those SageMaker made for the AutoML and tuning jobs
        "delete_experiment": Boto3Call(
            "DeleteExperiment", {"ExperimentName": experiment_name}, "delete_experiments"
        ),
        "delete_automl_experiment": Boto3Call(
            "DeleteExperiment",
            {"ExperimentName": f"{auto_ml_job_name}-aws-auto-ml-job"},
            "delete_experiments",
        ),
        "delete_tuning_experiment": Boto3Call(
            "DeleteExperiment", {"ExperimentName": f"{tuning_job_name}-aws-tuning-job"}, "delete_experiments"
        ),
    }


def unified_studio_example() -> Original:
    """example_sagemaker_unified_studio.py: its SageMakerNotebookOperator's arguments, but executor_config
    (the MWAA emulation of the test runner, as its mock_mwaa_environment task)."""
    return {
        "run-notebook": (
            "airflow.providers.amazon.aws.operators.sagemaker_unified_studio.SageMakerNotebookOperator",
            {
                "input_config": {"input_path": "test_notebook.ipynb", "input_params": {}},
                "output_config": {"output_formats": ["NOTEBOOK"]},
                "compute": {"instance_type": "ml.m5.large", "volume_size_in_gb": 30},
                "termination_condition": {"max_runtime_in_seconds": 600},
                "tags": {},
                "wait_for_completion": True,
                "waiter_delay": 5,
                "deferrable": False,
            },
        ),
    }
