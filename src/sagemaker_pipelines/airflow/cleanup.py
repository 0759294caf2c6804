"""Clean-ups and set-ups that every real SageMaker DAG writes in boto3, as operators: the provider has none.

Deleting an endpoint, an endpoint config, a model package or its group, an experiment with its trials
and trial components, stopping an AutoML job, and creating (or updating) and deleting a SageMaker
Pipeline. Each is idempotent, because a clean-up runs as a teardown - after a failed run, a retry, or a
run whose earlier clean-up already removed the thing:

- deleting what is gone succeeds (the log says it was already gone);
- stopping an AutoML job that already ended succeeds;
- creating a pipeline that exists updates it, so a DAG that creates its pipeline can run twice.

Each operator sends the one SageMaker request its name says (plus the List* calls an experiment's
deletion needs), through the provider's SageMakerHook and its AWS connection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from botocore.exceptions import ClientError

# How SageMaker says a named thing does not exist: the code, and words of the message where the code
# alone is too broad (a ValidationException also reports bad input, which must still fail the task).
_GONE_CODES = {"ResourceNotFound", "ResourceNotFoundException"}
_GONE_WORDS = ("could not find", "does not exist", "not found", "cannot be found")
# How an AutoML job that no stop can reach describes itself.
_ENDED = ("Completed", "Failed", "Stopped")


def is_gone(error: ClientError) -> bool:
    """Whether SageMaker refused because the resource does not exist (or no longer does)."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "").lower()
    return code in _GONE_CODES or (code == "ValidationException" and any(w in message for w in _GONE_WORDS))


class _SageMakerCleanup(AwsBaseOperator[SageMakerHook]):
    """One idempotent request: ``clean`` sends it; a resource that is already gone is success."""

    aws_hook_class = SageMakerHook
    what = "resource"

    def name(self) -> str:
        raise NotImplementedError

    def clean(self, client: Any) -> Any:
        raise NotImplementedError

    def execute(self, context: Any) -> Any:
        try:
            return self.clean(self.hook.conn)
        except ClientError as error:
            if not is_gone(error):
                raise
            self.log.info("%s %s is already gone: %s", self.what, self.name(), error)
            return None


class SageMakerDeleteEndpointOperator(_SageMakerCleanup):
    """Delete an endpoint: on AWS one left behind costs money every hour."""

    template_fields: Sequence[str] = (*AwsBaseOperator.template_fields, "endpoint_name")
    what = "endpoint"

    def __init__(self, *, endpoint_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_name = endpoint_name

    def name(self) -> str:
        return self.endpoint_name

    def clean(self, client: Any) -> None:
        client.delete_endpoint(EndpointName=self.endpoint_name)


class SageMakerDeleteEndpointConfigOperator(_SageMakerCleanup):
    template_fields: Sequence[str] = (*AwsBaseOperator.template_fields, "endpoint_config_name")
    what = "endpoint config"

    def __init__(self, *, endpoint_config_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_config_name = endpoint_config_name

    def name(self) -> str:
        return self.endpoint_config_name

    def clean(self, client: Any) -> None:
        client.delete_endpoint_config(EndpointConfigName=self.endpoint_config_name)


class SageMakerDeleteModelPackageOperator(_SageMakerCleanup):
    """Delete one version of the model registry (by name or ARN)."""

    template_fields: Sequence[str] = (*AwsBaseOperator.template_fields, "model_package_name")
    what = "model package"

    def __init__(self, *, model_package_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_package_name = model_package_name

    def name(self) -> str:
        return self.model_package_name

    def clean(self, client: Any) -> None:
        client.delete_model_package(ModelPackageName=self.model_package_name)


class SageMakerDeleteModelPackageGroupOperator(_SageMakerCleanup):
    """Delete a model package group; with ``delete_versions`` its versions first, since SageMaker
    refuses to delete a group that still has any."""

    template_fields: Sequence[str] = (*AwsBaseOperator.template_fields, "group_name")
    what = "model package group"

    def __init__(self, *, group_name: str, delete_versions: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.group_name = group_name
        self.delete_versions = delete_versions

    def name(self) -> str:
        return self.group_name

    def clean(self, client: Any) -> None:
        if self.delete_versions:
            pages = client.get_paginator("list_model_packages").paginate(
                ModelPackageGroupName=self.group_name
            )
            for page in pages:
                for package in page["ModelPackageSummaryList"]:
                    client.delete_model_package(ModelPackageName=package["ModelPackageArn"])
        client.delete_model_package_group(ModelPackageGroupName=self.group_name)


class SageMakerDeleteExperimentOperator(_SageMakerCleanup):
    """Delete an experiment and what SageMaker refuses to delete it with: its trials, each trial's
    components (disassociated, then deleted)."""

    template_fields: Sequence[str] = (*AwsBaseOperator.template_fields, "experiment_name")
    what = "experiment"

    def __init__(self, *, experiment_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.experiment_name = experiment_name

    def name(self) -> str:
        return self.experiment_name

    def clean(self, client: Any) -> None:
        trials = client.get_paginator("list_trials").paginate(ExperimentName=self.experiment_name)
        for trial in [t["TrialName"] for page in trials for t in page["TrialSummaries"]]:
            pages = client.get_paginator("list_trial_components").paginate(TrialName=trial)
            for page in pages:
                for component in page["TrialComponentSummaries"]:
                    name = component["TrialComponentName"]
                    client.disassociate_trial_component(TrialComponentName=name, TrialName=trial)
                    client.delete_trial_component(TrialComponentName=name)
            client.delete_trial(TrialName=trial)
        client.delete_experiment(ExperimentName=self.experiment_name)


class SageMakerStopAutoMLJobOperator(_SageMakerCleanup):
    """Stop an AutoML job; one that already ended (or never existed) needs no stopping. SageMaker refuses
    to stop an ended job with a ValidationException, as it does a bad request: the job's own status tells
    the two apart, not the words of the message."""

    template_fields: Sequence[str] = (*AwsBaseOperator.template_fields, "job_name")
    what = "AutoML job"

    def __init__(self, *, job_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name

    def name(self) -> str:
        return self.job_name

    def clean(self, client: Any) -> None:
        try:
            client.stop_auto_ml_job(AutoMLJobName=self.job_name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ValidationException":
                raise
            status = client.describe_auto_ml_job(AutoMLJobName=self.job_name)["AutoMLJobStatus"]
            if status not in _ENDED:
                raise
            self.log.info("AutoML job %s has already ended (%s): %s", self.job_name, status, error)


class SageMakerDeletePipelineOperator(_SageMakerCleanup):
    template_fields: Sequence[str] = (*AwsBaseOperator.template_fields, "pipeline_name")
    what = "pipeline"

    def __init__(self, *, pipeline_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline_name = pipeline_name

    def name(self) -> str:
        return self.pipeline_name

    def clean(self, client: Any) -> None:
        client.delete_pipeline(PipelineName=self.pipeline_name)


class SageMakerUpsertPipelineOperator(AwsBaseOperator[SageMakerHook]):
    """Create a SageMaker Pipeline, or update it when one of that name exists: a DAG that creates its
    pipeline can then run twice. Returns the pipeline's ARN. ``config``: further CreatePipeline fields
    (a display name, parallelism, tags); the update sends them too, but for the tags, which UpdatePipeline
    does not take."""

    aws_hook_class = SageMakerHook
    template_fields: Sequence[str] = (
        *AwsBaseOperator.template_fields,
        "pipeline_name",
        "definition",
        "role_arn",
        "description",
        "config",
    )

    def __init__(
        self,
        *,
        pipeline_name: str,
        definition: str | dict[str, Any],
        role_arn: str,
        description: str | None = None,
        config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline_name = pipeline_name
        self.definition = definition
        self.role_arn = role_arn
        self.description = description
        self.config = config or {}

    def request(self) -> dict[str, Any]:
        definition = self.definition if isinstance(self.definition, str) else json.dumps(self.definition)
        request = {
            "PipelineName": self.pipeline_name,
            "PipelineDefinition": definition,
            "RoleArn": self.role_arn,
        }
        described = {"PipelineDescription": self.description} if self.description else {}
        return {**request, **described, **self.config}

    def execute(self, context: Any) -> str:
        client = self.hook.conn
        request = self.request()
        try:
            return client.create_pipeline(**request)["PipelineArn"]
        except ClientError as error:
            message = error.response.get("Error", {}).get("Message", "").lower()
            if (
                "already exists" not in message
                and error.response.get("Error", {}).get("Code") != "ResourceInUse"
            ):
                raise
        self.log.info("pipeline %s exists: updating it", self.pipeline_name)
        update = {k: v for k, v in request.items() if k != "Tags"}
        return client.update_pipeline(**update)["PipelineArn"]
