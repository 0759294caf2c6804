"""AddTags and ListTags on the resources moto cannot find by their ARN: the AutoML jobs ``automl.py``
keeps, and pipeline executions (whose ARN, ``pipeline/<name>/execution/<id>``, has one more part than
moto's lookup splits). The exactly-once operators tag the job a successful try used and read the tags of
an earlier try's job (``airflow/jobs/attempts.py``), so these must answer as on AWS.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.utils import get_pipeline_execution_from_arn

from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.jobs.automl import tagged


@registry.wraps("_get_resource_from_arn")
def _resource_from_arn(orig: Any) -> Any:
    @functools.wraps(orig)
    def _get_resource_from_arn(self: Any, arn: str) -> Any:
        resource = arn.split(":")[-1]
        if resource.startswith("automl-job/"):
            found = tagged(self, resource.split("/", 1)[1])
            if found is None:
                raise ValidationError(message=f"Could not find automl-job with name {resource}")
            return found
        if resource.startswith("pipeline/") and "/execution/" in resource:
            execution = get_pipeline_execution_from_arn(self.pipelines, arn)
            if not hasattr(execution, "tags"):  # an execution of an earlier server's state
                execution.tags = []
            return execution
        return orig(self, arn)

    return _get_resource_from_arn
