"""The settings every process of ``make airflow`` shares: one Airflow home, one API URL, one JWT secret.

They build on what ``make run`` gives Airflow (``local.run.airflow_settings``: home, DAG folder, SQLite,
Python path, no real AWS credentials) and on its connections (``local.run.connection_settings``), so
the two ways of running locally cannot drift apart. What is added here is what a multi-process Airflow
needs: the executor, the API server's address (the task runners report to its execution API), a
secret that every component signs and checks tokens with, and the simple auth manager with one user
whose password only the owner can read (``local.owner_only``): 127.0.0.1 is open to every local user.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from sagemaker_pipelines.local.owner_only import auth_settings, private_dir
from sagemaker_pipelines.local.run import airflow_settings, connection_settings

EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


@dataclass(frozen=True)
class StackConfig:
    """What the command line chose."""

    state_dir: Path
    port: int
    executor: str  # a key of EXECUTORS
    environment: str
    redis_port: int | None = None  # celery only
    lineage: Path | None = None  # OpenLineage events, one JSON object a line; None: OpenLineage stays off

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def airflow_home(self) -> Path:
        return Path(airflow_settings(self.state_dir, self.environment)["AIRFLOW_HOME"])

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"


def venv_bin() -> Path:
    """The folder of this interpreter's scripts (``.venv/bin``), unresolved so the venv stays the venv."""
    return Path(sys.executable).absolute().parent


def airflow_executable() -> str:
    return str(venv_bin() / "airflow")


def _secret(path: Path) -> str:
    """A random secret kept in the state folder, so restarts keep the tokens and sessions valid."""
    if not path.is_file():
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(32))
    path.chmod(0o600)
    return path.read_text().strip()


def stack_settings(config: StackConfig, env, aws) -> dict[str, str]:
    """Environment variables of every Airflow process of the stack (``env``: the loaded Environment)."""
    settings = airflow_settings(config.state_dir, config.environment)
    settings.update(connection_settings(env, aws, config.state_dir / "warehouse.db"))
    keys = config.state_dir / "secrets"
    settings.update(
        {
            # Airflow re-executes `airflow` by name (task runners, workers): the venv's must come first.
            "PATH": os.pathsep.join([str(venv_bin()), os.environ.get("PATH", "")]),
            "AIRFLOW__CORE__EXECUTOR": EXECUTORS[config.executor],
            "AIRFLOW__CORE__PARALLELISM": "4",  # a laptop, not a cluster
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.api_url}/execution/",
            "AIRFLOW__API__BASE_URL": config.api_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(config.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": _secret(keys / "api_secret_key"),
            "AIRFLOW__API_AUTH__JWT_SECRET": _secret(keys / "jwt_secret"),
            # New and edited pipelines show up within seconds rather than minutes.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        }
    )
    settings.update(auth_settings(config.state_dir))  # a login: loopback is open to every local user
    settings.update(lineage_settings(config))
    if config.executor == "celery":
        settings.update(
            {
                "AIRFLOW__CELERY__BROKER_URL": config.broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": f"redis://127.0.0.1:{config.redis_port}/1",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            }
        )
    return settings


def lineage_settings(config: StackConfig) -> dict[str, str]:
    """OpenLineage's file transport when ``--lineage FILE`` was given, else nothing: the provider is
    installed everywhere but stays disabled (no listener, no event built) while no transport is set.
    Every process appends its events to the one file, a JSON object a line."""
    if config.lineage is None:
        return {}
    from sagemaker_pipelines.airflow.lineage import EXTRACTORS

    transport = {"type": "file", "log_file_path": str(config.lineage), "append": True}
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": f"sagemaker-pipelines-{config.environment}",
        # The model and tuning tasks' lineage, which the provider's operators do not build.
        "AIRFLOW__OPENLINEAGE__EXTRACTORS": EXTRACTORS,
    }


def process_argvs(config: StackConfig) -> list[tuple[str, list[str]]]:
    """(name, argv) of each Airflow process, in start order. No log servers: they bind every interface,
    and with one machine the API server reads the task logs from the shared folder itself."""
    airflow = airflow_executable()
    api = [airflow, "api-server", "--host", "127.0.0.1", "--port", str(config.port), "--workers", "1"]
    argvs = [
        ("api-server", api),
        ("scheduler", [airflow, "scheduler", "--skip-serve-logs"]),
        ("dag-processor", [airflow, "dag-processor"]),
        ("triggerer", [airflow, "triggerer", "--skip-serve-logs"]),
    ]
    if config.executor == "celery":
        worker = [airflow, "celery", "worker", "--skip-serve-logs", "--without-gossip", "--without-mingle"]
        argvs.append(("celery-worker", worker))
    return argvs
