"""Environments: the few facts that differ between a laptop and an AWS account.

A pipeline file is the same everywhere; an environment file (``environments/<name>.yaml``) says which
AWS connection, region, bucket, role and warehouse it runs against. The environment is chosen by the
``SAGEMAKER_PIPELINES_ENV`` environment variable, else the Airflow Variable ``sagemaker_pipelines_env``,
else ``local``.

An environment file is scanned for secrets like a pipeline (it is in git too), and it is where a
deployment may allow templates that read Airflow connections or Variables (``allow_templates``).
A file that cannot be read (not UTF-8, unreadable, a directory) is a problem naming it, not a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagemaker_pipelines.format.guardrails import Guardrails, read_guardrails
from sagemaker_pipelines.names import ALLOWED, is_safe_name
from sagemaker_pipelines.paths import display_path, environments_dir
from sagemaker_pipelines.problems import Code, PipelineInvalid, Problem

ENV_VARIABLE = "SAGEMAKER_PIPELINES_ENV"
AIRFLOW_VARIABLE = "sagemaker_pipelines_env"
DEFAULT_ENVIRONMENT = "local"
LOOPBACK_ONLY = "loopback-only"  # ``endpoint:`` value whose tasks refuse any endpoint off this machine


@dataclass(frozen=True)
class Environment:
    """One environment file, validated."""

    name: str
    file: str
    text: str  # the file's content: part of the compile cache key
    aws_conn_id: str
    region: str
    bucket: str
    role_arn: str
    warehouse: dict[str, str]
    check_interval: int = 30
    retry_delay: int | None = None
    local: bool = False
    loopback_only: bool = False  # tasks refuse an AWS endpoint off this machine (``endpoint: loopback-only``)
    deferrable: bool | None = None  # default of the SageMaker tasks' ``deferrable``; None: Airflow's default
    values: dict[str, Any] = field(default_factory=dict)
    print_log: bool | None = None  # None: on unless local (the emulator's logs are files, not CloudWatch)
    operator_defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    allow_templates: tuple[str, ...] = ()  # "conn", "var": templates pipelines may use in this environment
    notifiers: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {type, ...}: notify: targets
    # The classes ``kind: operator`` tasks may name (compile/allowed_operators.py): the platform's list.
    allowed_operators: tuple[str, ...] = ()
    # The Airflow connections ``kind: operator`` tasks may name besides the environment's own
    # (compile/connections.py): a connection is credentials and a host, so the platform team lists them.
    allowed_connections: tuple[str, ...] = ()
    # What requests may ask of AWS here (format/guardrails.py); None: no limits.
    guardrails: Guardrails | None = None

    def lookup(self, name: str) -> Any:
        """``${env.<name>}``: a per-environment value, or one of the standard fields."""
        if name in self.values:
            return self.values[name]
        if name in ("aws_conn_id", "region", "bucket", "role_arn"):
            return getattr(self, name)
        return None

    def names(self) -> list[str]:
        return sorted({"aws_conn_id", "region", "bucket", "role_arn", *self.values})


def environment_names() -> list[str]:
    return sorted(p.stem for p in environments_dir().glob("*.yaml"))


def environment_file(name: str) -> Path:
    return environments_dir() / f"{name}.yaml"


def load_environment(name: str) -> Environment:
    """Read and validate ``environments/<name>.yaml``; PipelineInvalid lists every problem (an
    unexpected exception included: a broken environment must not be a traceback that hides every DAG)."""
    try:
        return _load_environment(name)
    except PipelineInvalid:
        raise
    except Exception as exc:
        shown = display_path(environment_file(name))
        message = f"the environment could not be checked: {type(exc).__name__}: {str(exc)[:300]}"
        raise PipelineInvalid([Problem(shown, message=message, code=Code.INTERNAL)]) from exc


def _load_environment(name: str) -> Environment:
    # The checking machinery is imported here: a DAG file answered from the compile cache gets its
    # Environment from there too (cache/compile_cache.py) and never checks an environment file.
    from sagemaker_pipelines.format.schema_check import check_against_schema
    from sagemaker_pipelines.format.secrets import scan
    from sagemaker_pipelines.format.yaml_source import YamlProblem, load_document

    if not is_safe_name(name):  # a Variable or a process environment is input: never a path
        folder = display_path(environments_dir())
        known = ", ".join(environment_names()) or "none"
        message = f"{name!r} is not an environment name (known: {known})"
        hint = f"an environment is named by a file in {folder}/: {ALLOWED}"
        raise PipelineInvalid([Problem(folder, message=message, hint=hint, code=Code.ENVIRONMENT)])
    path = environment_file(name)
    shown = display_path(path)
    text = _read(path, name, shown)
    try:
        doc = load_document(text, shown)
    except YamlProblem as exc:
        raise PipelineInvalid([exc.problem]) from None
    problems = check_against_schema(doc, shown, schema="environment", skip=doc.problem_paths)
    allowed = doc.data.get("allow_templates", []) if isinstance(doc.data, dict) else []
    problems += doc.problems + scan(
        doc, shown, "environment files", allowed if isinstance(allowed, list) else []
    )
    if problems:
        raise PipelineInvalid(sorted(problems))
    data = doc.data
    guardrails = read_guardrails(data.get("guardrails"))
    if guardrails is not None and not guardrails.role_allowed(data["role_arn"]):
        line, col = doc.value_position(("role_arn",))
        message = (
            "role_arn is not one of the guardrails' roles: every job of this environment would be refused"
        )
        hint = f"add it to guardrails.roles ({', '.join(guardrails.roles)})"
        raise PipelineInvalid([Problem(shown, line, col, "role_arn", message, hint, code=Code.ENVIRONMENT)])
    return Environment(
        name=name,
        file=shown,
        text=text,
        aws_conn_id=data["aws_conn_id"],
        region=data["region"],
        bucket=data["bucket"],
        role_arn=data["role_arn"],
        warehouse=data["warehouse"],
        check_interval=data.get("check_interval", 30),
        retry_delay=data.get("retry_delay"),
        local=data.get("local", False),
        loopback_only=data.get("endpoint", LOOPBACK_ONLY if data.get("local") else "any") == LOOPBACK_ONLY,
        deferrable=data.get("deferrable"),
        values=data.get("values", {}),
        description=data.get("description", ""),
        print_log=data.get("print_log"),
        operator_defaults=data.get("operator_defaults", {}),
        allow_templates=tuple(data.get("allow_templates", ())),
        notifiers=data.get("notifiers", {}),
        allowed_operators=tuple(data.get("allowed_operators", ())),
        allowed_connections=tuple(data.get("allowed_connections", ())),
        guardrails=guardrails,
    )


def _read(path: Path, name: str, shown: str) -> str:
    """The environment file's text; PipelineInvalid says why there is none."""

    def problem(message: str, line: int = 0, col: int = 0, hint: str = "") -> PipelineInvalid:
        return PipelineInvalid([Problem(shown, line, col, "", message, hint, code=Code.ENVIRONMENT)])

    if path.is_dir():
        raise problem(f"environment '{name}': {shown} is a directory, not a file")
    if not path.is_file():
        known = ", ".join(environment_names()) or "none"
        dangling = " (a symbolic link to nothing)" if path.is_symlink() else ""
        hint = f"choose one with ${ENV_VARIABLE} or the Airflow Variable {AIRFLOW_VARIABLE}"
        raise problem(f"no environment '{name}'{dangling} (known: {known})", hint=hint)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise problem(f"cannot read the environment file: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"cannot read the environment file: it is not UTF-8 text (byte 0x{data[exc.start]:02x})"
        raise problem(message, line, col, "save it as UTF-8") from None


def current_environment_name() -> str:
    """The environment this process renders pipelines for."""
    name = os.environ.get(ENV_VARIABLE)
    if name:
        return name
    try:  # an Airflow Variable lets a deployment choose without touching its process environment
        from airflow.sdk import Variable

        return Variable.get(AIRFLOW_VARIABLE, default=DEFAULT_ENVIRONMENT)
    except Exception:  # no metadata DB or API server reachable at parse time: keep the default
        return DEFAULT_ENVIRONMENT
