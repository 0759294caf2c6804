"""Ports of the Amazon provider's SageMaker system tests: each a pipeline under ``pipelines/`` (with its
Python tasks under ``include/``), compared with the original here and run end to end in
``tests/local_run/test_provider_ports.py``.

Ported: example_sagemaker_condition, example_sagemaker_notebook, example_sagemaker_endpoint (its body and
its model clean-up). Not yet, each for want of a kind: the endpoint example's endpoint and endpoint-config
deletions, example_sagemaker_pipeline (create and delete a pipeline, delete its experiments), and
example_sagemaker's clean-ups (model package group, experiments, stop AutoML); their operators are in
``sagemaker_pipelines.airflow.cleanup``. Left out of every port on purpose: the originals' test-context
and watcher tasks (the system-test harness, not the DAG) and their bucket creation and deletion (a port
uses the environment's bucket, which other runs share).
"""

from __future__ import annotations

from pathlib import Path

PORTS_DIR = Path(__file__).resolve().parent
PIPELINES = PORTS_DIR / "pipelines"
INCLUDE = PORTS_DIR / "include"
# Where `make run` and the checker find the ports: their own pipelines and include folders.
PORT_ENV = {"SAGEMAKER_PIPELINES_DIR": str(PIPELINES), "SAGEMAKER_INCLUDE_DIR": str(INCLUDE)}
