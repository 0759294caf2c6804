"""The newest model of a family, for pipelines that score with whatever model was trained last.

A pipeline scheduled on a training pipeline's model asset (``iris_batch_on_model``) runs after a new
model's artifacts were written; the asset names the stable output prefix, not the per-run model, so
the model to use is looked up when the task runs: the newest SageMaker model whose name starts with
the producer's model name (its per-run suffix is a timestamp, so newest by creation time).
"""

from __future__ import annotations


def newest_model(name_prefix: str, aws_conn_id: str) -> str:
    """The name of the newest SageMaker model whose name starts with ``name_prefix``."""
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

    client = SageMakerHook(aws_conn_id=aws_conn_id).conn
    models = []
    for page in client.get_paginator("list_models").paginate(NameContains=name_prefix):
        models += [m for m in page["Models"] if m["ModelName"].startswith(name_prefix)]
    if not models:
        raise LookupError(f"no SageMaker model named {name_prefix}*: run the pipeline that creates it first")
    return max(models, key=lambda m: m["CreationTime"])["ModelName"]
