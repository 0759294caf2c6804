"""Functions the generated tasks call when they run (never at DAG parse time).

Only these functions (and the :class:`LoopbackOnly` guard) are referenced by dotted name from compiled
pipelines; a pipeline's own code comes from ``include/`` through :func:`call_include`, imported when its
task runs.
"""

from __future__ import annotations

import csv
import importlib.util
import inspect
import ipaddress
import os
import sys
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagemaker_pipelines.format.environment import AIRFLOW_VARIABLE, ENV_VARIABLE
from sagemaker_pipelines.paths import include_dir, include_path


def load_include_callable(spec: str):
    """``include/<file>.py:<function>`` -> the function, imported from that file alone."""
    file_part, _, name = spec.partition(":")
    path = include_path(file_part)
    if not path.is_relative_to(include_dir()):
        raise ValueError(f"{file_part} is outside include/")
    module_name = "include_" + "_".join(path.relative_to(include_dir()).with_suffix("").parts)
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "__file__", None) != str(path):
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
    return getattr(module, name)


def call_include(include_callable: str, arguments: dict[str, Any], **context: Any) -> Any:
    """Run a pipeline's Python step; it gets Airflow's context only if it asks for ``**context``."""
    function = load_include_callable(include_callable)
    takes_context = any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(function).parameters.values()
    )
    return function(**arguments, **(context if takes_context else {}))


def _rows(filepath: str, skip_header: bool) -> Iterable[list[str]]:
    with Path(filepath).open(newline="") as handle:
        reader = csv.reader(handle)
        if skip_header:
            next(reader, None)
        yield from (row for row in reader if row)


def parse_csv(filepath: str) -> list[list[str]]:
    """Parser for S3ToSqlOperator: every non-empty CSV row."""
    return list(_rows(filepath, skip_header=False))


def parse_csv_skip_header(filepath: str) -> list[list[str]]:
    return list(_rows(filepath, skip_header=True))


def is_loopback_url(url: str) -> bool:
    """True for http(s)://127.x.x.x, [::1] or localhost: this machine, never an AWS account."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Operators whose SDK builds its own clients from the worker's environment, not from the AWS connection:
# the Unified Studio notebook ones (sagemaker_studio: DataZone at DataZoneEndpoint, else AWS's own).
SDK_ENDPOINT_VARIABLES = {
    "SageMakerNotebookOperator": ("DataZoneEndpoint", "AWS_ENDPOINT_URL"),
    "SageMakerNotebookSensor": ("DataZoneEndpoint", "AWS_ENDPOINT_URL"),
}


@dataclass(frozen=True)
class LoopbackOnly:
    """``pre_execute`` of every task in a loopback-only environment (``local``; ``endpoint: loopback-only``).

    A DAG built for the local environment on a real deployment would send its requests wherever the AWS
    connection points - or, with no such connection, to AWS with whatever credentials the worker has.
    Before any request, this fails the task unless every connection it uses is on this machine: the AWS
    connection's endpoints, and each other connection's host (a SQLite file is local by nature).
    """

    environment: str
    aws_conn_id: str
    # The task's other connections (a warehouse's, an operator's own): each must be on this machine too.
    connections: tuple[str, ...] = ()

    def _connection(self, conn_id: str) -> Any:
        from airflow.sdk import BaseHook

        try:
            return BaseHook.get_connection(conn_id)
        except Exception as exc:  # AirflowNotFoundException and friends: no such connection here
            raise self.refusal(f"there is no connection '{conn_id}' ({exc})") from None

    def endpoints(self, conn_id: str | None = None) -> list[str | None]:
        """An AWS connection's endpoint and its per-service overrides (default: the task's AWS
        connection); None stands for AWS's own endpoints."""
        extra = self._connection(conn_id or self.aws_conn_id).extra_dejson
        main = extra.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL")
        services = extra.get("service_config") or {}
        return [main, *(s.get("endpoint_url") for s in services.values() if isinstance(s, dict))]

    def _check_aws(self, conn_id: str) -> None:
        for endpoint in self.endpoints(conn_id):
            if endpoint is None or not is_loopback_url(endpoint):
                shown = f"points at {endpoint}" if endpoint else "has no endpoint_url (that is: AWS itself)"
                raise self.refusal(f"connection '{conn_id}' {shown}")

    def _check_other(self, conn_id: str) -> None:
        """A non-AWS connection: a local file (SQLite), else a host on this machine."""
        connection = self._connection(conn_id)
        conn_type = connection.conn_type or ""
        if conn_type == "aws":
            self._check_aws(conn_id)
        elif conn_type != "sqlite" and not (connection.host and is_loopback_url(f"//{connection.host}")):
            where = f"host {connection.host}" if connection.host else "no host (that is: the service's own)"
            raise self.refusal(f"connection '{conn_id}' ({conn_type or 'no type'}) has {where}")

    def refusal(self, reason: str) -> Exception:
        from airflow.sdk.exceptions import AirflowFailException

        return AirflowFailException(
            f"environment '{self.environment}' only talks to services on this machine (127.0.0.1), "
            f"but {reason}. This Airflow is running the '{self.environment}' environment, probably by "
            f"accident: choose this deployment's environment with the {ENV_VARIABLE} environment variable "
            f"or the Airflow Variable {AIRFLOW_VARIABLE} (e.g. 'aws'); see docs/deploy.md"
        )

    def __call__(self, context: Any = None) -> None:
        self._check_aws(self.aws_conn_id)
        for conn_id in self.connections:
            if conn_id != self.aws_conn_id:
                self._check_other(conn_id)
        operator = type((context or {}).get("task")).__name__
        for variable in SDK_ENDPOINT_VARIABLES.get(operator, ()):  # operators that ignore the connection
            endpoint = os.environ.get(variable)
            if not endpoint or not is_loopback_url(endpoint):
                shown = endpoint or "not set (that is: AWS itself)"
                raise self.refusal(f"{operator} ignores the connection and its SDK's {variable} is {shown}")


def guardrail_refusal(message: str) -> Exception:
    """The failure of a request beyond the environment's guardrails: not retried (a retry would send
    the same request), and raised before any AWS call."""
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(f"{message}. Refused before any AWS call (docs/security.md#guardrails)")


@dataclass(frozen=True)
class Guardrail:
    """``pre_execute`` of every task that sends a SageMaker request (or names buckets) in an environment
    with ``guardrails:``: the request as Airflow rendered it - params, task outputs and for_each elements
    put in - checked against them (compile/guardrails.py) after the task's other guard (``then``).

    validate judged the literal values already; this sees what only the run knows, so an instance type
    from a trigger's conf is refused here, and the operator never creates the job.
    """

    environment: str
    kind: str
    guardrails: dict[str, Any]
    bucket: str = ""
    then: Any = None  # the environment's LoopbackOnly guard, if any

    def __hash__(self) -> int:  # the guardrails are a mapping: hash their JSON form
        import json

        return hash((self.environment, self.kind, json.dumps(self.guardrails, sort_keys=True), self.then))

    def __call__(self, context: Any = None) -> None:
        from sagemaker_pipelines.compile.guardrails import check_task, refusal
        from sagemaker_pipelines.format.guardrails import read_guardrails

        if self.then is not None:
            self.then(context)
        task = (context or {}).get("task")
        guardrails = read_guardrails(self.guardrails)
        if task is None or guardrails is None:
            return
        arguments = dict(vars(task))  # the operator's rendered arguments (its template fields included)
        breaches = check_task(self.kind, arguments, guardrails, self.environment, self.bucket, rendered=True)
        if breaches:
            raise guardrail_refusal(f"task {task.task_id}: {refusal(breaches)}")


def notifier(**spec: Any) -> Any:
    """A ``notify:`` callback, built when the DAG is (``spec``: a compiled marker's arguments; see
    :mod:`sagemaker_pipelines.airflow.notifiers`, which holds the only table of notifier classes)."""
    from sagemaker_pipelines.airflow.notifiers import Notification

    return Notification(**spec)
