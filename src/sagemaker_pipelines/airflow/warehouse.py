"""Loading S3 data into a SQL warehouse: the provider's S3ToSqlOperator, one object or a whole prefix.

A Redshift COPY of ``s3://bucket/output/`` loads every object under the prefix (the guide does exactly
this with a transform's output folder); the provider's S3ToSqlOperator loads a single key. This subclass
gives ``s3_to_sql`` (and so ``warehouse_load`` on a SQL warehouse) the same meaning as the COPY: a key
ending in ``/`` loads each object under it, in key order; any other key is the provider's behaviour.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.transfers.s3_to_sql import S3ToSqlOperator as _ProviderS3ToSqlOperator


class S3ToSqlOperator(_ProviderS3ToSqlOperator):
    """S3ToSqlOperator that also loads every object under a prefix (an ``s3_key`` ending in ``/``)."""

    def execute(self, context: Any) -> None:
        if not self.s3_key.endswith("/"):
            super().execute(context)
            return
        prefix = self.s3_key
        keys = sorted(
            k
            for k in S3Hook(aws_conn_id=self.aws_conn_id).list_keys(self.s3_bucket, prefix) or []
            if k[-1] != "/"
        )
        if not keys:
            raise FileNotFoundError(f"no objects under s3://{self.s3_bucket}/{prefix}")
        for key in keys:
            self.s3_key = key
            try:
                super().execute(context)
            finally:
                self.s3_key = prefix
