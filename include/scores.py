"""A summary of batch-transform scores under an asset, for a pipeline scheduled on the asset.

``batch_inference_summary`` runs when ``batch_inference_on_upload`` publishes new scores; it reads
every ``.out`` object under the asset's prefix (one score per line, as a CSV transform writes them).
"""

from __future__ import annotations


def summarize(asset_uri: str, aws_conn_id: str) -> dict[str, float | int]:
    """``{"files", "predictions", "mean_score"}`` of the transform outputs under ``asset_uri``."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    bucket, _, prefix = asset_uri.removeprefix("s3://").partition("/")
    client = S3Hook(aws_conn_id=aws_conn_id).get_conn()
    scores: list[float] = []
    files = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            if not item["Key"].endswith(".out"):
                continue
            files += 1
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
            scores += [float(line.split(",")[0]) for line in body.splitlines() if line.strip()]
    if not scores:
        raise LookupError(f"no scores under {asset_uri}: the pipeline that publishes them has not run")
    return {"files": files, "predictions": len(scores), "mean_score": round(sum(scores) / len(scores), 6)}
