"""What a Unified Studio notebook task needs locally: the SDK's variables, the project, its notebooks.

The provider's SageMakerNotebookOperator ignores the Airflow connection: its sagemaker_studio SDK reads
its own variables (``DataZoneEndpoint``, ``DataZoneDomainRegion``, ``DataZoneDomainId``,
``DataZoneProjectId``, as MWAA in Unified Studio sets them; botocore's ``AWS_ENDPOINT_URL`` for SageMaker,
EC2, SSM and S3) and the default boto3 credentials. :func:`sdk_settings` points all of them at the local
endpoint, for ``make run`` and for every process of ``make airflow`` (the local guard in
``airflow/tasks.py`` refuses the kind unless they are on this machine).

Before a run, :func:`prepare_projects` tells the endpoint's DataZone (``local/aws/jobs/datazone.py``) the
local environment's region, account, role and bucket, and copies the notebook of each ``studio_notebook`` task
from ``include/`` to where the SDK reads it, as Unified Studio syncs a Git project's files:
``notebook: src/reports/x.ipynb`` is ``include/reports/x.ipynb``, read from
``<project S3 path>/workflows/project-files/reports/x.ipynb``.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any

from sagemaker_pipelines.local.aws.jobs.datazone import REGISTER_PATH, SERVICE, project_s3_path
from sagemaker_pipelines.paths import display_path, include_dir

LOCAL_DOMAIN = "dzd_local"
LOCAL_PROJECT = "local_project"
PROJECT_FILES = "workflows/project-files"


def sdk_settings(env: Any, aws: Any) -> dict[str, str]:
    """The sagemaker_studio SDK's variables for the local endpoint ``aws`` (a LocalAws)."""
    return {
        "DataZoneEndpoint": aws.endpoint_url,
        "DataZoneDomainRegion": env.region,
        "DataZoneDomainId": LOCAL_DOMAIN,
        "DataZoneProjectId": LOCAL_PROJECT,
        "AWS_ENDPOINT_URL": aws.endpoint_url,
    }


def register_tooling(env: Any, aws: Any) -> dict[str, Any]:
    """The local environment as every local project's tooling environment (a signed PUT to DataZone)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    account = env.role_arn.split(":")[4]
    body = json.dumps({"accountId": account, "userRoleArn": env.role_arn, "bucket": env.bucket}).encode()
    request = AWSRequest("PUT", aws.endpoint_url + REGISTER_PATH, data=body)
    request.headers["Content-Type"] = "application/json"
    SigV4Auth(Credentials(aws.access_key_id, aws.secret_access_key), SERVICE, env.region).add_auth(request)
    sent = urllib.request.Request(request.url, data=body, method="PUT", headers=dict(request.headers.items()))
    with urllib.request.urlopen(sent, timeout=10) as answer:
        return json.loads(answer.read())


def notebook_source(notebook: str) -> Path:
    """The local file of a task's ``notebook:`` (``src/`` of the Git project is ``include/``)."""
    relative = re.sub(r"^/?src/", "", notebook)
    source = (include_dir() / relative).resolve()
    if not source.is_relative_to(include_dir().resolve()):
        raise ValueError(f"notebook {notebook!r} is outside {display_path(include_dir())}")
    return source


def prepare_projects(env: Any, aws: Any, s3: Any, tasks: list) -> list[str]:
    """Register the tooling environment and upload the notebooks of ``tasks``; returns the S3 URIs.
    A missing notebook is reported and skipped: its task then fails with the execution's own error (the
    notebook is not among the project files), and the other pipelines of ``make airflow`` still run."""
    notebooks = [t for t in tasks if t.kind == "studio_notebook"]
    if not notebooks and not any(t.kind == "studio_notebook_sensor" for t in tasks):
        return []
    register_tooling(env, aws)  # a sensor's SDK client too looks the project up in DataZone
    uploaded = []
    for task in notebooks:
        path = task.kwargs["input_config"]["input_path"]
        domain = task.kwargs.get("domain_id") or LOCAL_DOMAIN
        project = task.kwargs.get("project_id") or LOCAL_PROJECT
        if not isinstance(path, str) or "{{" in path + domain + project:
            continue  # known only when the task runs: the SDK will say what is missing
        source = notebook_source(path)
        if not source.is_file():  # not a set-up failure: the task fails, naming the notebook it lacks
            print(f"{task.task_id}: notebook {display_path(source)} does not exist", file=sys.stderr)
            continue
        root = project_s3_path(env.bucket, domain, project).removeprefix(f"s3://{env.bucket}/")
        key = f"{root}/{PROJECT_FILES}/{re.sub(r'^/?src/', '', path)}"
        s3.put_object(Bucket=env.bucket, Key=key, Body=source.read_bytes())
        uploaded.append(f"s3://{env.bucket}/{key}")
    return uploaded
