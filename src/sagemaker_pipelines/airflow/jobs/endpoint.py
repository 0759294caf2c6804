"""The provider's endpoint operator, whose retry does not create or update the endpoint a second time.

An endpoint is not a job: nothing stops it, and a retry cannot adopt it by a name derived from its try
number (clients call it by one stable name). What a try can tell is whether the endpoint already serves,
or is being brought to, the endpoint config it asks for - then the call it would make has been made.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators import sagemaker as provider
from botocore.exceptions import ClientError

# An endpoint is brought to these from Creating or Updating; another create or update would only redo it.
_ENDPOINT_ON_ITS_WAY = ("Creating", "Updating", "SystemUpdating", "InService")


class SageMakerEndpointOperator(provider.SageMakerEndpointOperator):
    """SageMakerEndpointOperator whose retry does not create or update the endpoint again.

    The provider's retry of a create finds the endpoint its earlier try created, takes "already exists"
    for an endpoint someone else made and updates it with the same config: a second deployment, or a
    failure while the first is still Creating. Here a try whose endpoint already serves, or is being
    brought to, the endpoint config it asks for skips the create or update call and waits for that
    endpoint as if it had made the call itself; any other endpoint is the provider's business."""

    def execute(self, context: Any) -> Any:
        wanted = self.config.get("Endpoint", self.config)
        name, config_name = wanted.get("EndpointName"), wanted.get("EndpointConfigName")
        found = self._describe(name)
        if found and _brings_to(found, config_name):
            self.log.info(
                "Adopting SageMaker endpoint %s, already %s with endpoint config %s as this task asks (an "
                "earlier try made the call): waiting for it instead of %s it again",
                name,
                found["EndpointStatus"],
                config_name,
                "creating" if self.operation == "create" else "updating",
            )
            answer = {"EndpointArn": found["EndpointArn"], "ResponseMetadata": {"HTTPStatusCode": 200}}
            self.hook.create_endpoint = self.hook.update_endpoint = lambda *_, **__: answer
        return super().execute(context)

    def _describe(self, name: str | None) -> dict[str, Any] | None:
        if not name:
            return None
        try:
            return self.hook.conn.describe_endpoint(EndpointName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
                return None
            raise


def _brings_to(endpoint: dict[str, Any], config_name: str | None) -> bool:
    """Whether the endpoint serves ``config_name`` or is being deployed with it (Creating, Updating)."""
    if endpoint.get("EndpointStatus") not in _ENDPOINT_ON_ITS_WAY:
        return False
    pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    if endpoint["EndpointStatus"] == "InService":
        return endpoint.get("EndpointConfigName") == config_name and pending in (None, config_name)
    return config_name in (endpoint.get("EndpointConfigName"), pending)
