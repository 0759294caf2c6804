"""The Python task of the endpoint port: call the deployed endpoint with one Iris row."""

from __future__ import annotations

import json

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

SAMPLE_TEST_DATA = "6.4,3.2,4.5,1.5"


def call_endpoint(endpoint_name: str, aws_conn_id: str) -> list:
    """The predictions the endpoint returns: the original's call, through the pipeline's connection."""
    runtime = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="sagemaker-runtime").get_conn()
    response = runtime.invoke_endpoint(
        EndpointName=endpoint_name, ContentType="text/csv", Body=SAMPLE_TEST_DATA
    )
    return json.loads(response["Body"].read().decode())["predictions"]
