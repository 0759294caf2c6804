"""The provider's SageMaker sensors that lose a failure's reason, with the reason put back.

The provider's processing, AutoML and SageMaker Pipelines sensors do not override
``get_failed_reason_from_response``, so a failed job reads "Sagemaker job failed for the following
reason: Unknown" in the task log, while the Describe* answer they just read says why (``FailureReason``;
a processing job's ``ExitMessage`` too). A data scientist then has to find the job in the console to see
a message Airflow already had.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.sensors import sagemaker as provider


def failure_reason(response: dict[str, Any]) -> str:
    """What a Describe* answer says of a failure: its FailureReason, and a processing job's ExitMessage
    when it adds something; "Unknown" only when AWS says nothing."""
    said = [
        text
        for text in (response.get("FailureReason"), response.get("ExitMessage"))
        if isinstance(text, str) and text.strip()
    ]
    unique = [text for i, text in enumerate(said) if text not in said[:i]]
    return " - ".join(unique) or "Unknown"


class SageMakerProcessingSensor(provider.SageMakerProcessingSensor):
    def get_failed_reason_from_response(self, response: dict[str, Any]) -> str:
        return failure_reason(response)


class SageMakerAutoMLSensor(provider.SageMakerAutoMLSensor):
    def get_failed_reason_from_response(self, response: dict[str, Any]) -> str:
        return failure_reason(response)


class SageMakerPipelineSensor(provider.SageMakerPipelineSensor):
    def get_failed_reason_from_response(self, response: dict[str, Any]) -> str:
        return failure_reason(response)
