"""What a local environment needs before a pipeline runs: bucket, "existing" model, warehouse tables.

On AWS all three exist already. Locally the bucket is created on the emulator; a transform that
names a model by the environment's ``existing_model_name`` gets one made first by a real training
job on the emulator (``include/census_model.py``), so batch inference has something real to use; and
the tables that ``s3_to_sql`` tasks load are created in the SQLite warehouse (as text columns).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from sagemaker_pipelines.compile.images import algorithm_image_uri
from sagemaker_pipelines.format.environment import Environment


def clients(env: Environment, aws) -> tuple:
    """S3 and SageMaker clients of the local endpoint ``aws`` (a LocalAws), with its credentials."""
    from botocore.config import Config

    kwargs = aws.client_kwargs(env.region)
    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)
    return boto3.client("s3", config=config, **kwargs), boto3.client("sagemaker", config=config, **kwargs)


def ensure_bucket(s3, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **extra)


def _model_exists(sagemaker, name: str) -> bool:
    try:
        sagemaker.describe_model(ModelName=name)
        return True
    except ClientError:
        return False


def _compiled(env: Environment, dag_id: str) -> Any:
    from sagemaker_pipelines.cache.compile_cache import CompileCache
    from sagemaker_pipelines.project import check_all

    # Through the loader's cache: the DagBag that follows checks the same files again.
    checked = check_all(env, cache=CompileCache.default())
    return next((r.compiled for r in checked.good() if r.dag_id == dag_id), None)


def referenced_existing_models(tasks: list) -> set[str]:
    """Literal model names of the pipeline's transform and endpoint-config tasks."""
    names = set()
    for task in tasks:
        config = task.kwargs.get("config", {})
        variants = config.get("ProductionVariants", [])
        candidates = [config.get("ModelName"), *(v.get("ModelName") for v in variants)]
        names |= {n for n in candidates if isinstance(n, str) and "{{" not in n}
    return names


def create_warehouse_tables(tasks: list, warehouse_db: Path, declared: dict | None = None) -> None:
    """Tables of the s3_to_sql tasks: their columns, else those the environment declares for the table."""
    with sqlite3.connect(warehouse_db) as db:
        for task in tasks:
            if task.kind == "s3_to_sql":
                names = task.kwargs.get("column_list") or (declared or {}).get(task.kwargs["table"])
                if not names:
                    continue  # the load names no columns and the environment none: the table must exist
                columns = ", ".join(f'"{c}" TEXT' for c in names)
                db.execute(f'CREATE TABLE IF NOT EXISTS "{task.kwargs["table"]}" ({columns})')


def prepare(env: Environment, aws, dag_id: str, warehouse_db: Path) -> None:
    """The environment's bucket, existing model and warehouse tables on the local endpoint ``aws``."""
    from sagemaker_pipelines.local.waiters import use_fast_waiters

    use_fast_waiters(warehouse_db.parent, env.check_interval)  # notebook waiters: not 30 s per check
    # Every boto3 client of this run goes to the emulator, also those built without the connection's
    # endpoint_url (the processing operator reads its output_files_to_xcom with a plain session client).
    os.environ["AWS_ENDPOINT_URL"] = aws.endpoint_url
    s3, sagemaker = clients(env, aws)
    ensure_bucket(s3, env.bucket, env.region)
    compiled = _compiled(env, dag_id)
    tasks = compiled.tasks if compiled is not None else []
    if compiled is not None:  # schedule: {s3_events: ...}: the bucket notifies the watcher's queue
        from sagemaker_pipelines.local.s3_events import ensure_s3_events

        sqs = boto3.client("sqs", **aws.client_kwargs(env.region))
        ensure_s3_events(compiled.dag.get("schedule"), s3, sqs)
    create_warehouse_tables(tasks, warehouse_db, env.warehouse.get("tables"))
    from sagemaker_pipelines.local.studio import prepare_projects

    prepare_projects(env, aws, s3, tasks)  # Unified Studio notebooks: DataZone's project, its files
    wanted = env.values.get("existing_model_name")
    if wanted and wanted in referenced_existing_models(tasks) and not _model_exists(sagemaker, wanted):
        from include.census_model import create_existing_model

        print(f"creating the existing model '{wanted}' (XGBoost trained on census-like data)", flush=True)
        create_existing_model(
            sagemaker,
            s3,
            model_name=wanted,
            bucket=env.bucket,
            role_arn=env.role_arn,
            image=algorithm_image_uri("xgboost", env.region),
        )
