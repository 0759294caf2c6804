"""``make run``: run one pipeline end to end on this machine, with no AWS account.

The DAG that runs is the one Airflow loads from the YAML - the same provider operators sending the
same requests through boto3 over HTTP - only the environment differs: the AWS connection points at
a moto server on 127.0.0.1 that really runs the jobs (``local/aws``), and the warehouse connection at
a SQLite file. Airflow gets its own home under ``.local/`` (SQLite metadata, made on first use) and
the DAG runs with Airflow's own ``dag.test()``, task by task, logging as it goes.

Everything this starts is stopped on the way out - on success, on failure, on Ctrl-C, SIGTERM or
SIGHUP, and when the emulator dies under it - and the summary is printed on every path that ran the
DAG. The verdict is the tasks', not the leaves': a run with a failed task fails (exit status 1) even
when a clean-up task with ``trigger_rule: all_done`` made Airflow call the run a success. Stopped by a
signal, the run says "interrupted" and exits with 128 + the signal (130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from contextlib import ExitStack, suppress
from pathlib import Path

from sagemaker_pipelines.local.interrupts import Interrupted, RunGuard
from sagemaker_pipelines.local.owner_only import private_dir, private_umask
from sagemaker_pipelines.local.studio import sdk_settings
from sagemaker_pipelines.paths import (
    SOURCE_DIR,
    dags_dir,
    display_path,
    local_state_dir,
    pipelines_dir,
    project_root,
)


def airflow_settings(state_dir: Path, environment: str) -> dict[str, str]:
    """Airflow reads its settings once, at import: these must be in os.environ before that."""
    home = state_dir / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "SAGEMAKER_PIPELINES_ENV": environment,
        "SAGEMAKER_NOTIFY_DIR": str(state_dir),  # relative paths of file notifiers (airflow/notifiers.py)
        "PYTHONPATH": os.pathsep.join(
            [str(SOURCE_DIR), str(project_root()), os.environ.get("PYTHONPATH", "")]
        ),
        # Nothing may reach a real AWS account by accident: no shared config files, and the only
        # credentials are the emulator's own (set with the connections, once it runs).
        "AWS_ACCESS_KEY_ID": "local-run-not-started",
        "AWS_SECRET_ACCESS_KEY": "local-run-not-started",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def connection_settings(env, aws, warehouse_db: Path) -> dict[str, str]:
    """Airflow connections as environment variables: the only thing that differs from AWS. The AWS one
    carries the credentials this start of the emulator made; no other credentials are accepted."""
    connection = {
        "conn_type": "aws",
        "login": aws.access_key_id,
        "password": aws.secret_access_key,
        "extra": {"endpoint_url": aws.endpoint_url, "region_name": env.region},
    }
    warehouse = {"conn_type": "sqlite", "host": str(warehouse_db)}
    return {
        f"AIRFLOW_CONN_{env.aws_conn_id.upper().replace('-', '_')}": json.dumps(connection),
        f"AIRFLOW_CONN_{env.warehouse['conn_id'].upper().replace('-', '_')}": json.dumps(warehouse),
        "AWS_DEFAULT_REGION": env.region,
        "AWS_ACCESS_KEY_ID": aws.access_key_id,
        "AWS_SECRET_ACCESS_KEY": aws.secret_access_key,
        **sdk_settings(env, aws),  # the Unified Studio SDK ignores the connection (local/studio.py)
    }


def _reexec_if_airflow_loaded(argv: list[str]) -> None:
    """Airflow settings are read at import; if something imported it already, start afresh."""
    if "airflow" in sys.modules and not os.environ.get("_SAGEMAKER_RUN_REEXEC"):
        os.environ["_SAGEMAKER_RUN_REEXEC"] = "1"
        os.execv(sys.executable, [sys.executable, "-m", "sagemaker_pipelines.toolkit", "run", *argv])


def _init_airflow_db(home: Path) -> None:
    if (home / "airflow.db").exists():
        return
    print(f"first run: creating Airflow's metadata database in {home}", flush=True)
    from airflow.utils.db import initdb

    initdb()


def write_dag_file(pipeline: str) -> Path:
    """The pipeline's own DAG file, written first when missing or stale, by ``make sync``'s own plan: a
    DAG id or file name that is not a safe name gets no file here either, and nothing is written outside
    the DAG folder."""
    from sagemaker_pipelines.project import find_pipeline
    from sagemaker_pipelines.toolkit import sync

    path = find_pipeline(pipeline)
    if path is None:
        raise SystemExit(f"no pipeline '{pipeline}' under {display_path(pipelines_dir())}")
    changes = sync.plan([path])
    if changes.problems:
        raise SystemExit("\n".join(problem.format() for problem in changes.problems))
    sync.apply(changes)
    for target in changes.write:
        print(f"wrote {display_path(target)}", flush=True)
    (target,) = changes.pipeline_of
    return target


def _load_dag(dag_file: Path):
    """The DAG as Airflow's DagBag loads it from the pipeline's DAG file, or exit with its import error."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dag_file))
    if len(bag.dags) != 1:
        errors = "\n".join(bag.import_errors.values())
        raise SystemExit(f"{display_path(dag_file)} did not load.\n{errors}")
    return next(iter(bag.dags.values()))


def _parse_date(text: str):
    from sagemaker_pipelines.airflow.dag_builder import parse_date

    return parse_date(text)


def _latest_run(dag_id: str):
    """The run dag.test() made, when it was interrupted before returning it."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        if run is not None:
            session.expunge(run)
        return run


def _say(text: str, stream=None) -> None:
    """Print, even when the terminal is gone (SIGHUP): a closed terminal must not turn into a traceback."""
    with suppress(OSError):
        print(text, file=stream or sys.stdout, flush=True)


def run_pipeline(
    pipeline: str,
    environment: str,
    state_dir: Path,
    report_path: Path | None,
    logical_date: str | None = None,
    conf: dict | None = None,
) -> int:
    """Run ``pipeline`` once (``conf``: its params, as Airflow's trigger form gives them); print (and
    optionally write) the summary; 0 when every task succeeded."""
    from sagemaker_pipelines.format.environment import load_environment
    from sagemaker_pipelines.local.aws import LocalAws, start_local_aws
    from sagemaker_pipelines.local.summary import collect_summary, print_summary

    env = load_environment(environment)
    state_dir.mkdir(parents=True, exist_ok=True)
    settings = airflow_settings(state_dir, environment)
    os.environ.update(settings)
    summary = None
    with RunGuard() as guard, ExitStack() as stack:
        aws = LocalAws.from_environment(os.environ)
        if aws is None:
            aws = stack.enter_context(start_local_aws(state_dir / "aws"))
            guard.watch(lambda: aws.running)
            stack.callback(guard.unwatch)  # first on the way out: stopping the emulator is no death
            _say(f"local AWS endpoint: {aws.endpoint_url} (moto, pid {aws.pid}, log {aws.log_path})")
        warehouse_db = state_dir / "warehouse.db"
        os.environ.update(connection_settings(env, aws, warehouse_db))
        try:
            from sagemaker_pipelines.local import provision

            provision.prepare(env, aws, pipeline, warehouse_db)
            _init_airflow_db(Path(settings["AIRFLOW_HOME"]))
            dag = _load_dag(write_dag_file(pipeline))
            started = time.time()
            _say(f"running {dag.dag_id} ({len(dag.tasks)} tasks) in environment '{env.name}'")
            dag_run = None
            try:
                with guard.tasks():
                    when = {"logical_date": _parse_date(logical_date)} if logical_date else {}
                    dag_run = dag.test(**when, run_conf=conf or None)  # conf: the run's params
            except KeyboardInterrupt:
                guard.stopping = True
                if not (guard.signum or guard.reason):
                    guard.signum = signal.SIGINT
            dag_run = dag_run or _latest_run(dag.dag_id)
            summary = collect_summary(dag, dag_run, env, aws, warehouse_db, started, _why_stopped(guard))
        except Interrupted:
            pass
        except Exception:
            if not (guard.reason or (aws.pid and not aws.running)):
                raise
            guard.reason = guard.reason or "the local AWS endpoint stopped"  # a task's client saw it go
    if summary is None:  # stopped before the DAG ran
        return _stopped_early(guard, aws)
    print_summary(summary)
    if report_path:
        report_path.write_text(json.dumps(summary, indent=2, default=str))
    if guard.signum:
        _say("interrupted: stopped everything this run started", sys.stderr)
        return guard.exit_code
    return 0 if summary["state"] == "success" else 1


# The run's params as JSON, from the environment: how ``make run CONF=...`` passes them without a shell
# ever parsing the text (a quote in a value would end the argument and the rest would run as a command).
CONF_VARIABLE = "SAGEMAKER_PIPELINES_CONF"


def _conf(text: str) -> dict:
    """``--conf``: a JSON object of run params (what Airflow's trigger form sends)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('a JSON object of params, e.g. {"k": 5}')
    return value


def conf_from_environment(environ: Mapping[str, str]) -> dict | None:
    """The run params in ``$SAGEMAKER_PIPELINES_CONF`` (None when unset or empty); ArgumentTypeError
    when it is not a JSON object."""
    text = environ.get(CONF_VARIABLE, "")
    return _conf(text) if text.strip() else None


def _why_stopped(guard: RunGuard) -> str:
    if guard.signum:
        return "interrupted"
    return guard.reason


def _stopped_early(guard: RunGuard, aws) -> int:
    if guard.reason:
        _say(f"stopped: {guard.reason} (its log: {aws.log_path})", sys.stderr)
        return 1
    _say("\ninterrupted: stopped everything this run started", sys.stderr)
    return guard.exit_code if guard.signum else 130


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="sagemaker_pipelines run", description=__doc__.split("\n\n")[0])
    parser.add_argument("pipeline", nargs="?", default="iris_training", help="pipeline name (file stem)")
    parser.add_argument("--env", default="local", help="environment (default: local)")
    parser.add_argument("--state-dir", type=Path, default=None, help="scratch folder (default: .local/)")
    parser.add_argument("--report", type=Path, default=None, help="also write the summary as JSON here")
    parser.add_argument("--logical-date", default=None, help="logical date of the run (default: now)")
    parser.add_argument("--conf", type=_conf, default=None, help="run params as JSON, e.g. '{\"k\": 5}'")
    args = parser.parse_args(argv)
    if args.conf is None:  # make run CONF=...: data in the environment, never a command line
        try:
            args.conf = conf_from_environment(os.environ)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"${CONF_VARIABLE} (make run CONF=...): {exc}")
    _reexec_if_airflow_loaded(argv)
    private_umask()  # Airflow's database, the warehouse, logs, the endpoint's state: 0600 / 0700
    state_dir = private_dir((args.state_dir or local_state_dir()).resolve())
    try:
        return run_pipeline(args.pipeline, args.env, state_dir, args.report, args.logical_date, args.conf)
    except KeyboardInterrupt:
        _say("\ninterrupted: stopped everything this run started", sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
