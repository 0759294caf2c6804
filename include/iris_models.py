"""The newest model under a model asset, for pipelines that score with whatever was trained last.

A pipeline scheduled on a training pipeline's model asset (``iris_batch_on_model``) runs once a new
model's artifacts were written. The asset names the stable output prefix, not the run's file (the job
name in its path has the run's timestamp), so the file is looked up when the task runs: the newest
``model.tar.gz`` under the prefix. Training jobs write it only when they succeed, and the asset event
comes after that, so the file is there when the consumer runs.
"""

from __future__ import annotations

MODEL_FILE = "/output/model.tar.gz"


def newest_model(asset_uri: str, aws_conn_id: str) -> str:
    """The key (within the asset's bucket) of the newest ``model.tar.gz`` under ``asset_uri``."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    bucket, _, prefix = asset_uri.removeprefix("s3://").partition("/")
    client = S3Hook(aws_conn_id=aws_conn_id).get_conn()
    models = []
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix.rstrip("/") + "/"
    ):
        models += [o for o in page.get("Contents", []) if o["Key"].endswith(MODEL_FILE)]
    if not models:
        raise LookupError(f"no model.tar.gz under {asset_uri}: run the pipeline that trains it first")
    return max(models, key=lambda o: o["LastModified"])["Key"]
