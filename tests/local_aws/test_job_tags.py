"""Tags on every job kind, also one created without tags: a successful task marks its job used with one."""

from __future__ import annotations

from .conftest import BUCKET, KNN_IMAGE, ROLE


def test_a_tuning_job_created_without_tags_takes_tags(sm):
    arn = sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tagged-tune",
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "test:accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {"IntegerParameterRanges": [{"Name": "k", "MinValue": "1", "MaxValue": "3"}]},
        },
        TrainingJobDefinition={
            "AlgorithmSpecification": {"TrainingImage": KNN_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/tagged/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    )["HyperParameterTuningJobArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "sagemaker-pipelines:consumed", "Value": "try 1"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "sagemaker-pipelines:consumed", "Value": "try 1"}
    ]
