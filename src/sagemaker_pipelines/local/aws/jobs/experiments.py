"""Experiments, trials and trial components as AWS refuses them: a name that does not exist is
ResourceNotFound, "<Type> '<arn>' does not exist."

moto keeps experiments, trials and components and answers their calls, but reports a missing one as a
ValidationException with the wrong resource type in its ARN, and lists the trials of an experiment that
does not exist as none. A clean-up that deletes an experiment (``delete_experiment``) learns from these
errors that there is nothing left to delete, so they are the ones AWS sends.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceNotFound

from sagemaker_pipelines.compile.kinds.notebooks import JOB_EXPERIMENT_SUFFIX
from sagemaker_pipelines.local.aws import registry


def not_found(backend: Any, label: str, resource_type: str, name: str) -> ResourceNotFound:
    arn = (
        f"arn:{backend.partition}:sagemaker:{backend.region_name}:{backend.account_id}:{resource_type}/{name}"
    )
    return ResourceNotFound(f"{label} '{arn}' does not exist.")


def job_experiment(backend: Any, kind: str, job_name: str) -> None:
    """Make the experiment SageMaker makes for every AutoML and tuning job, named after the job: it outlives
    the job, so a run that deletes it (delete_experiment's ``job:``) deletes something, as on AWS."""
    backend.create_experiment(job_name + JOB_EXPERIMENT_SUFFIX[kind])


@registry.replaces("delete_experiment")
def delete_experiment(self: Any, experiment_name: str) -> None:
    if self.experiments.pop(experiment_name, None) is None:
        raise not_found(self, "Experiment", "experiment", experiment_name)


@registry.replaces("delete_trial")
def delete_trial(self: Any, trial_name: str) -> None:
    if self.trials.pop(trial_name, None) is None:
        raise not_found(self, "Trial", "experiment-trial", trial_name)


@registry.replaces("delete_trial_component")
def delete_trial_component(self: Any, trial_component_name: str) -> None:
    if self.trial_components.pop(trial_component_name, None) is None:
        raise not_found(self, "TrialComponent", "experiment-trial-component", trial_component_name)


@registry.wraps("list_trials", registry.RESPONSE)
def _list_trials(orig: Any) -> Any:
    def list_trials(self: Any) -> ActionResult:
        experiment = self._get_param("ExperimentName")
        if experiment is not None and experiment not in self.sagemaker_backend.experiments:
            raise not_found(self.sagemaker_backend, "Experiment", "experiment", experiment)
        return orig(self)

    return list_trials
