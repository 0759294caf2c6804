"""Endpoints: CreateEndpoint loads the model of the config's first ProductionVariant in the background
(``Creating`` -> ``InService``, or ``Failed`` with a FailureReason); InvokeEndpoint answers from it.

All variants but the first are ignored (no traffic splitting), and instance counts/types mean nothing.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.core.exceptions import ServiceException
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint

from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.backend import (
    SETTINGS,
    Run,
    describe_error,
    launch,
    log,
    store_for,
    utcnow,
    wait_min_duration,
)
from sagemaker_pipelines.local.aws.jobs.transform import model_container
from sagemaker_pipelines.local.aws.sandbox import JobDir, JobError

_SERVED: dict[tuple[str, str, str], tuple[Any, str]] = {}
_LOCK = threading.Lock()


def prepare(endpoint: Any) -> None:
    endpoint.endpoint_status = "Creating"
    endpoint.failure_reason = None


def run(backend: Any, endpoint: Any, run_info: Run) -> None:
    """Load the model, then publish InService (unless the endpoint was deleted meanwhile)."""
    name = endpoint.endpoint_name
    jd = JobDir.create(SETTINGS.state_dir, "endpoint", name)
    try:
        config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
        if config is None or not config.production_variants:
            raise JobError(f"ClientError: endpoint config '{endpoint.endpoint_config_name}' has no variants")
        variant = config.production_variants[0]
        container = model_container(backend, variant["ModelName"])
        jd.phase(f"loading model '{variant['ModelName']}' ({container.get('Image')})")
        from sagemaker_pipelines.local.aws.serving import load_model

        served = load_model(store_for(backend), container, jd.root)
        wait_min_duration(run_info)
        if backend.endpoints.get(name) is endpoint:
            with _LOCK:
                _SERVED[(backend.account_id, backend.region_name, name)] = (served, variant["VariantName"])
            endpoint.endpoint_status = "InService"
            jd.phase("InService")
    except Exception as exc:
        if not isinstance(exc, JobError):
            log.exception("endpoint %s: unexpected error", name)
        wait_min_duration(run_info)
        endpoint.failure_reason = describe_error(exc)
        endpoint.endpoint_status = "Failed"
        jd.phase(f"Failed: {endpoint.failure_reason}")
    endpoint.last_modified_time = utcnow()


def served_model(account_id: str, region: str, name: str) -> tuple[Any, str] | None:
    with _LOCK:
        return _SERVED.get((account_id, region, name))


def forget(account_id: str, region: str, name: str) -> None:
    with _LOCK:
        _SERVED.pop((account_id, region, name), None)


# ---------------------------------------------------------------- moto patches (see registry.py)


class RuntimeValidationError(ServiceException):
    code = "ValidationError"


class RuntimeModelError(ServiceException):
    code = "ModelError"


@registry.wraps("create_endpoint")
def _create_endpoint(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_endpoint(self: Any, endpoint_name: str, *args: Any, **kwargs: Any) -> Any:
        if endpoint_name in self.endpoints:
            arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
            raise ValidationError(f'Cannot create already existing endpoint "{arn}".')
        endpoint = orig(self, endpoint_name, *args, **kwargs)
        prepare(endpoint)
        launch("endpoint", self, endpoint_name, lambda started: run(self, endpoint, started))
        return endpoint

    return create_endpoint


@registry.wraps("delete_endpoint")
def _delete_endpoint(orig: Any) -> Any:
    @functools.wraps(orig)
    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        orig(self, endpoint_name)
        forget(self.account_id, self.region_name, endpoint_name)

    return delete_endpoint


@registry.replaces("invoke_endpoint", registry.RUNTIME_RESPONSE)
def _runtime_invoke_endpoint(self: Any) -> Any:
    """InvokeEndpoint answered by the endpoint's loaded model."""
    from sagemaker_pipelines.local.aws.serving import ModelError

    name = self._get_params().get("EndpointName") or self.path.split("/")[2]
    found = served_model(self.current_account, self.region, name)
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


registry.observes("describe_endpoint", "endpoint", "EndpointStatus", ("Creating", "Updating"), __name__)
