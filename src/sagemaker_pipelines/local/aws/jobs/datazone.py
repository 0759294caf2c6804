"""DataZone on the local endpoint: exactly the lookups the sagemaker_studio SDK makes before a notebook runs.

moto has no DataZone. The SDK's ``RemoteExecutionClient`` (what the provider's SageMakerNotebookOperator
uses) asks DataZone for the project's default tooling environment - ``ListEnvironmentBlueprints``
(``Tooling``, then ``ToolingLite``), ``ListEnvironments`` of that blueprint, ``GetEnvironment``, and when
no blueprint is found ``ListConnections`` - and reads from it the region, account, the project's user
role (``userRoleArn``, the role the notebook's training job passes) and S3 path (``s3BucketPath``). These
REST routes answer them, behind the same SigV4 check as every other request (this middleware sits inside
:class:`~sagemaker_pipelines.local.aws.auth.SignedRequestsOnly`): a request signed for the ``datazone``
service comes here, any other goes on to moto.

What the environment holds is the local environment's own settings, which only the run knows: it
registers them (``PUT`` :data:`REGISTER_PATH`, signed like any request; see ``local/studio.py``) once per
region before its tasks run. Every domain and project of that region then has one deployed tooling
environment ``tooling-<project>`` whose S3 path is ``s3://<bucket>/datazone/<domain>/<project>/dev``, a
Git project (``codeRepositoryName``), so the SDK reads a notebook ``src/x.ipynb`` from
``<path>/workflows/project-files/x.ipynb``. Other DataZone operations answer ``ResourceNotFoundException``
naming what is emulated.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from sagemaker_pipelines.local.aws import registry

SERVICE = "datazone"
REGISTER_PATH = "/local-api/datazone/tooling"
BLUEPRINT_ID = "local-tooling"
PROVIDER = "Amazon SageMaker"
EMULATED = "ListEnvironmentBlueprints, ListEnvironments, GetEnvironment, ListConnections"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_ROUTE = re.compile(
    r"^/v2/domains/(?P<domain>[^/]+)/(?P<what>environment-blueprints|environments|connections)"
    r"(?:/(?P<id>[^/]+))?$"
)
_REQUIRED = ("accountId", "userRoleArn", "bucket")
# The blueprint's CloudFormation template: a name only (nothing is deployed locally).
_TEMPLATE = {"cloudFormation": {"templateUrl": "local://datazone/blueprints/tooling.template.json"}}


def project_s3_path(bucket: str, domain: str, project: str) -> str:
    """Where a local project's files and outputs live (``s3BucketPath`` of its tooling environment)."""
    return f"s3://{bucket}/datazone/{domain}/{project}/dev"


def tooling_environment(settings: dict[str, str], region: str, domain: str, project: str) -> dict[str, Any]:
    """The project's deployed tooling environment, shaped as DataZone's GetEnvironment answers it."""
    resources = {
        "userRoleArn": settings["userRoleArn"],
        "s3BucketPath": project_s3_path(settings["bucket"], domain, project),
        "codeRepositoryName": f"{project}-local",
    }
    return {
        "id": f"tooling-{project}",
        "domainId": domain,
        "projectId": project,
        "name": "Tooling",
        "provider": PROVIDER,
        "createdBy": "local",
        "status": "ACTIVE",
        "awsAccountId": settings["accountId"],
        "awsAccountRegion": region,
        "environmentBlueprintId": BLUEPRINT_ID,
        "deploymentOrder": 0,
        "provisionedResources": [
            {"name": name, "value": value, "type": "String", "provider": PROVIDER}
            for name, value in resources.items()
        ],
    }


@registry.serves(SERVICE)
class DataZoneRoutes:
    """WSGI middleware: DataZone's tooling-environment lookups answered; every other request to ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._regions: dict[str, dict[str, str]] = {}  # region -> accountId, userRoleArn, bucket

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION") or "")
        if not scope or scope["service"] != SERVICE:
            return self.app(environ, start_response)
        try:
            status, body = self.answer(environ, scope["region"])
        except _Error as error:
            status, body = error.status, {"message": error.message}
            headers = [("x-amzn-ErrorType", error.code)]
        else:
            headers = []
        payload = json.dumps(body).encode()
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(status, headers)
        return [payload]

    def answer(self, environ: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        """(HTTP status, JSON body) of one DataZone request signed for ``region``."""
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if path == REGISTER_PATH and method == "PUT":
            return "200 OK", self._register(environ, region)
        route = _ROUTE.match(path)
        if method != "GET" or not route:
            raise _Error(
                "404 Not Found", "ResourceNotFoundException", f"the local endpoint emulates only {EMULATED}"
            )
        with self._lock:
            settings = self._regions.get(region)
        if settings is None:
            raise _Error(
                "404 Not Found",
                "ResourceNotFoundException",
                f"domain {route['domain']}: no local Unified Studio project in {region} "
                "(make run and make airflow register the local environment's)",
            )
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        domain, what, ident = route["domain"], route["what"], route["id"]
        if what == "environment-blueprints" and not ident:
            return "200 OK", {"items": self._blueprints(query)}
        if what == "environments" and not ident:
            project = query.get("projectIdentifier", "")
            items = [tooling_environment(settings, region, domain, project)] if project else []
            wanted = query.get("environmentBlueprintIdentifier")
            if (wanted and wanted != BLUEPRINT_ID) or query.get("name", "Tooling") != "Tooling":
                items = []
            return "200 OK", {"items": items}
        if what == "environments" and ident.startswith("tooling-"):
            return "200 OK", tooling_environment(settings, region, domain, ident.removeprefix("tooling-"))
        if what == "connections" and not ident:
            return "200 OK", {"items": []}  # the tooling blueprint is always found first
        raise _Error("404 Not Found", "ResourceNotFoundException", f"{what} {ident!r} not found in {domain}")

    def _register(self, environ: dict[str, Any], region: str) -> dict[str, Any]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            settings = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError:
            settings = None
        if not isinstance(settings, dict) or not all(isinstance(settings.get(k), str) for k in _REQUIRED):
            raise _Error(
                "400 Bad Request", "ValidationException", f"a registration needs {', '.join(_REQUIRED)}"
            )
        with self._lock:
            self._regions[region] = {k: settings[k] for k in _REQUIRED}
        return {"region": region, **self._regions[region]}

    @staticmethod
    def _blueprints(query: dict[str, str]) -> list[dict[str, Any]]:
        if query.get("name", "Tooling") != "Tooling" or query.get("provider", PROVIDER) != PROVIDER:
            return []  # ToolingLite and custom blueprints: none here
        blueprint = {
            "id": BLUEPRINT_ID,
            "name": "Tooling",
            "provider": PROVIDER,
            "provisioningProperties": _TEMPLATE,
        }
        return [blueprint]


class _Error(Exception):
    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
