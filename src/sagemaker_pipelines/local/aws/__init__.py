"""A local AWS endpoint for SageMaker pipelines: a real moto server whose SageMaker jobs really run.

``start_local_aws(state_dir)`` starts ``python -m sagemaker_pipelines.local.aws.server`` on 127.0.0.1 (a
free port) and returns a ``LocalAws`` (``endpoint_url``, ``port``, ``pid``, ``log_path``, ``stop()``).
Point boto3 (or Airflow's AWS connection) at it with ``client_kwargs(region)``: the credentials that
start made (any others are refused with AccessDenied), any region.

Emulated:

* every moto service (S3, IAM, STS, ...) as moto implements it;
* CreateTrainingJob runs: built-in knn / linear-learner / xgboost (scikit-learn and xgboost equivalents on
  text/csv with the label first, xgboost also libsvm) or script mode (sklearn/xgboost/pytorch images with
  sagemaker_program + sagemaker_submit_directory) with the training toolkit's SM_* environment; status goes
  InProgress (Starting/Downloading/Training/Uploading) -> Completed with a real model.tar.gz, or Failed
  with a FailureReason; StoppingCondition.MaxRuntimeInSeconds kills scripts;
* CreateTransformJob (built-in models and script models via model_fn/input_fn/predict_fn/output_fn),
  CreateProcessingJob (ContainerEntrypoint run on the host, paths remapped into a sandbox),
  CreateHyperParameterTuningJob (N real training jobs, best job reported, ListTrainingJobsFor...),
  CreateEndpoint (Creating -> InService) and sagemaker-runtime InvokeEndpoint with real predictions;
* FinalMetricDataList: metrics computed for built-in algorithms, MetricDefinitions regexes for scripts;
* the model registry (groups and versions), SageMaker Pipelines executions whose steps really run,
  AutoML with scikit-learn candidates, notebook instance states (see README.md).

Not emulated: containers (images only select the algorithm/framework; code runs with the server's Python
and libraries), instance types and counts (one host, ``algo-1``), distributed training, GPUs, Pipe/
FastFile input modes, spot/checkpoints, CloudWatch logs and metrics (logs are files under
``<state-dir>/jobs/<kind>-<name>/job.log``), multi-variant endpoints, autoscaling,
data capture, recordio-protobuf data, persistence of the AWS state across server restarts. Built-in
algorithms are stand-ins: predictions are comparable, not identical, to Amazon's. Script-mode models are
imported into the server process when served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagemaker_pipelines.local.aws.server import LocalAws, start_local_aws

__all__ = ["LocalAws", "start_local_aws"]


def __getattr__(name: str) -> Any:
    # Lazy, so ``python -m sagemaker_pipelines.local.aws.server`` does not import its module twice.
    if name in __all__:
        from sagemaker_pipelines.local.aws import server

        return getattr(server, name)
    raise AttributeError(name)
