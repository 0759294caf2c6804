"""Endpoints: CreateEndpoint loads the model of the config's first ProductionVariant in the background
(``Creating`` -> ``InService``, or ``Failed`` with a FailureReason); InvokeEndpoint answers from it.

All variants but the first are ignored (no traffic splitting), and instance counts/types mean nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from .backend import SETTINGS, Run, describe_error, log, store_for, utcnow, wait_min_duration
from .sandbox import JobDir, JobError
from .transform import model_container

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
        from .serving import load_model

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
