"""Airflow DAG file of "pipelines/iris_sweep.yaml", written by `make sync`: edit the YAML, not this file.

The imports are what this pipeline's operators and dag-factory need: Airflow's dag-processor loads
them once, before it forks the process that parses this file."""

import airflow.configuration
import airflow.models
import airflow.models.dag
import airflow.providers.amazon.aws.operators
import airflow.providers.amazon.aws.operators.sagemaker
import airflow.providers.amazon.aws.triggers.sagemaker
import airflow.providers.common.compat.sdk
import airflow.providers.common.sql.sensors.sql
import airflow.providers.http.operators.http
import airflow.providers.http.sensors.http
import airflow.providers.standard.operators.python
import airflow.providers.standard.sensors.python
import airflow.sdk
import airflow.sdk.bases.operator
import airflow.sdk.definitions.asset
import airflow.sdk.definitions.dag
import airflow.sdk.definitions.mappedoperator
import airflow.sdk.definitions.taskgroup
import airflow.sdk.definitions.variable
import airflow.sdk.execution_time.task_runner
import airflow.sdk.module_loading
import airflow.timetables.assets
import airflow.version

from sagemaker_pipelines.airflow.loader import load_pipeline

dag = load_pipeline(__file__, project="..", pipeline="pipelines/iris_sweep.yaml")
