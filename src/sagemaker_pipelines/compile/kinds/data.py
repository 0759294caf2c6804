"""Data movement around the jobs: Python steps, uploads, waiting for an S3 object, and loading results into a
warehouse. None of them calls SageMaker; the S3 objects they touch reach the IAM policy from their
arguments (``toolkit/iam_policy/s3.py``)."""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.callables import function
from sagemaker_pipelines.compile.kinds import outputs
from sagemaker_pipelines.compile.kinds.context import TaskContext, present
from sagemaker_pipelines.compile.kinds.sensors import sensor_args
from sagemaker_pipelines.compile.kinds.spec import Alias, Graph, Kind
from sagemaker_pipelines.paths import include_path

RUNTIME = "sagemaker_pipelines.airflow.tasks"


def python(ctx: TaskContext) -> dict[str, Any]:
    """The callable is imported when the task runs, not when Airflow parses the DAG."""
    return {
        "python_callable": f"{RUNTIME}.call_include",
        "op_kwargs": {"include_callable": ctx.get("callable"), "arguments": ctx.get("arguments", {})},
    }


def s3_upload(ctx: TaskContext) -> dict[str, Any]:
    return {
        "filename": str(include_path(ctx.get("file"))),
        "dest_key": ctx.get("to"),
        "replace": ctx.get("replace", True),
        "aws_conn_id": ctx.pipeline.aws_conn_id,
    }


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3_to_redshift(ctx: TaskContext) -> dict[str, Any]:
    bucket, key = split_s3_uri(ctx.get("from"))
    warehouse = ctx.pipeline.environment.warehouse
    return {
        "s3_bucket": bucket,
        "s3_key": key,
        "schema": ctx.get("schema", warehouse.get("schema", "PUBLIC")),
        "table": ctx.get("table"),
        "copy_options": ctx.get("copy_options", ["csv"]),
        "redshift_conn_id": ctx.get("redshift_conn_id", warehouse["conn_id"]),
        "aws_conn_id": ctx.pipeline.aws_conn_id,
        **present(method=ctx.get("method"), column_list=ctx.get("columns")),
    }


def s3_to_sql(ctx: TaskContext) -> dict[str, Any]:
    bucket, key = split_s3_uri(ctx.get("from"))
    warehouse = ctx.pipeline.environment.warehouse
    parser = "parse_csv_skip_header" if ctx.get("header") else "parse_csv"
    return {
        "s3_bucket": bucket,
        "s3_key": key,
        "table": ctx.get("table"),
        "parser": function(f"{RUNTIME}.{parser}"),
        "sql_conn_id": ctx.get("sql_conn_id", warehouse["conn_id"]),
        "aws_conn_id": ctx.pipeline.aws_conn_id,
        **present(column_list=ctx.get("columns"), schema=ctx.get("schema", warehouse.get("schema"))),
    }


def warehouse_kind(ctx: TaskContext) -> str:
    """A warehouse_load becomes a Redshift COPY or a SQL insert, as the environment says."""
    return "s3_to_redshift" if ctx.pipeline.environment.warehouse["type"] == "redshift" else "s3_to_sql"


def s3_key_sensor(ctx: TaskContext) -> dict[str, Any]:
    return {
        "bucket_key": ctx.get("key"),
        "wildcard_match": ctx.get("wildcard", False),
        "aws_conn_id": ctx.pipeline.aws_conn_id,
        **sensor_args(ctx),
    }


_TRANSFERS = "airflow.providers.amazon.aws.transfers."

SPECS = {
    "python": Kind(
        "airflow.providers.standard.operators.python.PythonOperator",
        python,
        Graph.DATA,
        (),
        outputs=outputs.PYTHON,
        templated=("templates_dict", "op_args", "op_kwargs"),
    ),
    "s3_upload": Kind(
        _TRANSFERS + "local_to_s3.LocalFilesystemToS3Operator",
        s3_upload,
        Graph.DATA,
        (),
        templated=("filename", "dest_key", "dest_bucket", "aws_conn_id"),
        differs={
            "replace": (
                "True, where the operator's False fails when the key exists: a retry or a rerun uploads "
                "to the key an earlier try wrote."
            )
        },
    ),
    "s3_key_sensor": Kind(
        "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        s3_key_sensor,
        Graph.SENSOR,
        (),
        templated=("aws_conn_id", "bucket_key", "bucket_name", "region_name", "verify"),
    ),
    "s3_to_redshift": Kind(
        _TRANSFERS + "s3_to_redshift.S3ToRedshiftOperator",
        s3_to_redshift,
        Graph.DATA,
        (),
        templated=(
            "s3_bucket",
            "s3_key",
            "schema",
            "table",
            "column_list",
            "copy_options",
            "redshift_conn_id",
            "method",
            "redshift_data_api_kwargs",
            "aws_conn_id",
        ),
        differs={
            "schema": (
                "The environment's warehouse schema, else PUBLIC, where the operator leaves the table "
                "unqualified: a load then never depends on the connection user's search_path."
            ),
            "copy_options": (
                "`[csv]`, where the operator sends none: the files a pipeline loads are CSV (a batch "
                "transform's output), and a COPY without options reads pipe-delimited text."
            ),
        },
    ),
    # The provider's S3ToSqlOperator, loading a whole prefix too (as a Redshift COPY does).
    "s3_to_sql": Kind(
        "sagemaker_pipelines.airflow.warehouse.S3ToSqlOperator",
        s3_to_sql,
        Graph.DATA,
        (),
        templated=("s3_bucket", "s3_key", "schema", "table", "column_list", "sql_conn_id", "aws_conn_id"),
    ),
}

ALIASES = {"warehouse_load": Alias(warehouse_kind, ("s3_to_redshift", "s3_to_sql"), Graph.DATA)}
