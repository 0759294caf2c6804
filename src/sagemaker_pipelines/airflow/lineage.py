"""OpenLineage extractors for the SageMaker operators whose provider classes build no lineage: a model
(it reads its model artifacts) and a tuning job (it reads its training data and writes its models).

The training, transform and processing operators describe their own S3 inputs and outputs
(``get_openlineage_facets_on_complete``, from the job's Describe answer); these two do not, so a lineage
backend would see a gap between the training task's model and the transform that uses it. The
OpenLineage provider finds these by ``[openlineage] extractors`` (``EXTRACTORS``), which ``make airflow
--lineage`` sets and a deployment sets next to its transport; this module is imported only then.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage

from sagemaker_pipelines.compile.kinds import lineage

EXTRACTORS = (
    "sagemaker_pipelines.airflow.lineage.ModelExtractor;sagemaker_pipelines.airflow.lineage.TuningExtractor"
)


def s3_dataset(uri: str) -> Any:
    """An S3 location as OpenLineage's dataset naming has it: namespace ``s3://bucket``, name the key."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return Dataset(namespace=f"s3://{bucket}", name=key, facets={})


class ModelExtractor(BaseExtractor):
    """A SageMaker model reads its container's (or containers') ``ModelDataUrl``."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["SageMakerModelOperator"]

    def _execute_extraction(self) -> OperatorLineage | None:
        reads, _ = lineage.model(self.operator.config or {})
        return OperatorLineage(inputs=[s3_dataset(u) for u in reads if str(u).startswith("s3://")])


class TuningExtractor(BaseExtractor):
    """A tuning job reads its training channels and writes every training job's model under its output."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["SageMakerTuningOperator"]

    def _execute_extraction(self) -> OperatorLineage | None:
        reads, writes = lineage.tuning(self.operator.config or {})
        return OperatorLineage(inputs=[s3_dataset(u) for u in reads], outputs=[s3_dataset(u) for u in writes])
