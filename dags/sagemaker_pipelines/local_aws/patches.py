"""The monkeypatches on moto's SageMaker and SageMaker Runtime classes (see ``backend`` for the why).

Each wrapper calls moto's original method, so validation, ARNs and the Describe/List answers stay moto's;
then it prepares the returned object for its real run and launches the background work.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import (
    FakeEndpoint,
    FakeProcessingJob,
    FakeTrainingJob,
    FakeTransformJob,
    SageMakerModelBackend,
)
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from . import endpoints, processing, training, transform, tuning
from .backend import launch, mark_observed

_APPLIED = False


class RuntimeValidationError(ServiceException):
    code = "ValidationError"


class RuntimeModelError(ServiceException):
    code = "ModelError"


def _original(name: str) -> Any:
    return getattr(SageMakerModelBackend, name)


def _create_training_job(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_training_job(
        self: Any,
        training_job_name: str,
        *args: Any,
        environment: dict[str, str] | None = None,
        tuning_job_arn: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if training_job_name in self.training_jobs:
            arn = FakeTrainingJob.arn_formatter(training_job_name, self.account_id, self.region_name)
            raise ResourceInUseException(
                "Training job names must be unique within an AWS account and region, and a training job "
                f"with this name already exists ({arn})"
            )
        spec = copy.deepcopy(kwargs.get("algorithm_specification") or {})
        job = orig(self, training_job_name, *args, **kwargs)
        job.algorithm_specification = spec  # moto replaces MetricDefinitions with a canned one
        training.prepare(job, environment, tuning_job_arn)
        launch("training", self, training_job_name, lambda run: training.run(self, job, run))
        return job

    return create_training_job


def _create_transform_job(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_transform_job(self: Any, transform_job_name: str, *args: Any, **kwargs: Any) -> Any:
        if transform_job_name in self.transform_jobs:
            arn = FakeTransformJob.arn_formatter(transform_job_name, self.account_id, self.region_name)
            raise ValidationError(
                "Job name must be unique within an AWS account and region, and a job with this name already "
                f"exists ({arn})"
            )
        job = orig(self, transform_job_name, *args, **kwargs)
        transform.prepare(job)
        launch("transform", self, transform_job_name, lambda run: transform.run(self, job, run))
        return job

    return create_transform_job


def _create_processing_job(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_processing_job(
        self: Any, *args: Any, environment: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        name = kwargs.get("processing_job_name")
        if name in self.processing_jobs:
            arn = FakeProcessingJob.arn_formatter(name, self.account_id, self.region_name)
            raise ValidationError(
                "Job name must be unique within an AWS account and region, and a job with this name already "
                f"exists ({arn})"
            )
        job = orig(self, *args, **kwargs)
        processing.prepare(job, environment)
        launch("processing", self, job.processing_job_name, lambda run: processing.run(self, job, run))
        return job

    return create_processing_job


def _create_endpoint(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_endpoint(self: Any, endpoint_name: str, *args: Any, **kwargs: Any) -> Any:
        if endpoint_name in self.endpoints:
            arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
            raise ValidationError(f'Cannot create already existing endpoint "{arn}".')
        endpoint = orig(self, endpoint_name, *args, **kwargs)
        endpoints.prepare(endpoint)
        launch("endpoint", self, endpoint_name, lambda run: endpoints.run(self, endpoint, run))
        return endpoint

    return create_endpoint


def _delete_endpoint(orig: Any) -> Any:
    @functools.wraps(orig)
    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        orig(self, endpoint_name)
        endpoints.forget(self.account_id, self.region_name, endpoint_name)

    return delete_endpoint


def _create_tuning_job(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_hyper_parameter_tuning_job(
        self: Any, hyper_parameter_tuning_job_name: str, **kwargs: Any
    ) -> str:
        arn = orig(self, hyper_parameter_tuning_job_name=hyper_parameter_tuning_job_name, **kwargs)
        job = self.hyper_parameter_tuning_jobs[hyper_parameter_tuning_job_name]
        tuning.prepare(job)
        launch("tuning", self, hyper_parameter_tuning_job_name, lambda run: tuning.run(self, job, run))
        return arn

    return create_hyper_parameter_tuning_job


_DESCRIBES = {
    # backend method: (run kind, name parameter, status field, statuses still in progress)
    "describe_training_job": ("training", "TrainingJobStatus", ("InProgress", "Stopping")),
    "describe_transform_job": ("transform", "TransformJobStatus", ("InProgress", "Stopping")),
    "describe_processing_job": ("processing", "ProcessingJobStatus", ("InProgress", "Stopping")),
    "describe_endpoint": ("endpoint", "EndpointStatus", ("Creating", "Updating")),
    "describe_hyper_parameter_tuning_job": ("tuning", "HyperParameterTuningJobStatus", ("InProgress",)),
}


def _describe(orig: Any, kind: str, status_field: str, running: tuple[str, ...]) -> Any:
    @functools.wraps(orig)
    def describe(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = orig(self, *args, **kwargs)
        if isinstance(answer, dict) and answer.get(status_field) in running:
            mark_observed(kind, self, args[0] if args else next(iter(kwargs.values()), None))
        return answer

    return describe


def list_training_jobs_for_hyper_parameter_tuning_job(
    self: Any, hyper_parameter_tuning_job_name: str, status_equals: str | None = None
) -> list[dict[str, Any]]:
    """Backend method moto lacks: the child training jobs of a tuning job, as summaries."""
    from moto.sagemaker.exceptions import ResourceNotFound

    job = self.hyper_parameter_tuning_jobs.get(hyper_parameter_tuning_job_name)
    if job is None:
        raise ResourceNotFound(
            f"Could not find hyper parameter tuning job '{hyper_parameter_tuning_job_name}'."
        )
    children = [self.training_jobs[n] for n in getattr(job, "training_jobs", []) if n in self.training_jobs]
    summaries = [tuning.summary(job, child) for child in children]
    return [s for s in summaries if status_equals in (None, s["TrainingJobStatus"])]


# ------------------------------------------------------------------------------ response handlers
def _response_create_training_job(self: Any) -> ActionResult:
    """moto's handler, plus the Environment parameter it drops."""
    p = self._get_param
    job = self.sagemaker_backend.create_training_job(
        training_job_name=p("TrainingJobName"),
        hyper_parameters=p("HyperParameters"),
        algorithm_specification=p("AlgorithmSpecification"),
        role_arn=p("RoleArn"),
        input_data_config=p("InputDataConfig"),
        output_data_config=p("OutputDataConfig"),
        resource_config=p("ResourceConfig"),
        vpc_config=p("VpcConfig"),
        stopping_condition=p("StoppingCondition"),
        tags=p("Tags"),
        enable_network_isolation=p("EnableNetworkIsolation", False),
        enable_inter_container_traffic_encryption=p("EnableInterContainerTrafficEncryption", False),
        enable_managed_spot_training=p("EnableManagedSpotTraining", False),
        checkpoint_config=p("CheckpointConfig"),
        debug_hook_config=p("DebugHookConfig"),
        debug_rule_configurations=p("DebugRuleConfigurations"),
        tensor_board_output_config=p("TensorBoardOutputConfig"),
        experiment_config=p("ExperimentConfig"),
        environment=p("Environment"),
    )
    return ActionResult({"TrainingJobArn": job.arn})


def _response_create_processing_job(self: Any) -> ActionResult:
    """moto's handler, plus the Environment parameter it drops."""
    p = self._get_param
    job = self.sagemaker_backend.create_processing_job(
        app_specification=p("AppSpecification"),
        experiment_config=p("ExperimentConfig"),
        network_config=p("NetworkConfig"),
        processing_inputs=p("ProcessingInputs"),
        processing_job_name=p("ProcessingJobName"),
        processing_output_config=p("ProcessingOutputConfig"),
        role_arn=p("RoleArn"),
        stopping_condition=p("StoppingCondition"),
        tags=p("Tags"),
        environment=p("Environment"),
    )
    return ActionResult({"ProcessingJobArn": job.arn})


def _response_list_training_jobs_for_tuning(self: Any) -> ActionResult:
    summaries = self.sagemaker_backend.list_training_jobs_for_hyper_parameter_tuning_job(
        self._get_param("HyperParameterTuningJobName"), self._get_param("StatusEquals")
    )
    reverse = self._get_param("SortOrder") == "Descending"
    if self._get_param("SortBy") == "FinalObjectiveMetricValue":
        summaries.sort(
            key=lambda s: s.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get(
                "Value", float("-inf")
            ),
            reverse=reverse,
        )
    elif self._get_param("SortBy") == "Status":
        summaries.sort(key=lambda s: s["TrainingJobStatus"], reverse=reverse)
    return ActionResult({"TrainingJobSummaries": summaries})


def _runtime_invoke_endpoint(self: Any) -> Any:
    """InvokeEndpoint answered by the endpoint's loaded model."""
    from .serving import ModelError

    name = self._get_params().get("EndpointName") or self.path.split("/")[2]
    found = endpoints.served_model(self.current_account, self.region, name)
    if found is None:
        raise RuntimeValidationError(f"Endpoint {name} of account {self.current_account} not found.")
    served, variant = found
    body = self.raw_body if isinstance(self.raw_body, bytes) else (self.raw_body or "").encode()
    content_type = self.headers.get("Content-Type")
    accept = self.headers.get("Accept")
    try:
        answer, out_type = served.invoke(body, content_type, accept)
    except ModelError as exc:
        raise RuntimeModelError(f'Received client error (400) from primary with message "{exc}".') from exc
    return 200, {"Content-Type": out_type, "x-Amzn-Invoked-Production-Variant": variant}, answer


def apply() -> None:
    """Install every patch once."""
    global _APPLIED
    if _APPLIED:
        return
    b = SageMakerModelBackend
    b.create_training_job = _create_training_job(_original("create_training_job"))
    b.create_transform_job = _create_transform_job(_original("create_transform_job"))
    b.create_processing_job = _create_processing_job(_original("create_processing_job"))
    b.create_endpoint = _create_endpoint(_original("create_endpoint"))
    b.delete_endpoint = _delete_endpoint(_original("delete_endpoint"))
    b.create_hyper_parameter_tuning_job = _create_tuning_job(_original("create_hyper_parameter_tuning_job"))
    b.list_training_jobs_for_hyper_parameter_tuning_job = list_training_jobs_for_hyper_parameter_tuning_job
    for method, (kind, status_field, running) in _DESCRIBES.items():
        setattr(b, method, _describe(_original(method), kind, status_field, running))
    SageMakerResponse.create_training_job = _response_create_training_job
    SageMakerResponse.create_processing_job = _response_create_processing_job
    SageMakerResponse.list_training_jobs_for_hyper_parameter_tuning_job = (
        _response_list_training_jobs_for_tuning
    )
    SageMakerRuntimeResponse.invoke_endpoint = _runtime_invoke_endpoint
    _APPLIED = True
