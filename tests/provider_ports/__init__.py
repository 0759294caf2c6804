"""Ports of the Amazon provider's SageMaker system tests: each a pipeline under ``pipelines/`` (with its
Python tasks under ``include/``), compared with the original here and run end to end in
``tests/local_run/test_provider_ports.py``."""

from __future__ import annotations

from pathlib import Path

PORTS_DIR = Path(__file__).resolve().parent
PIPELINES = PORTS_DIR / "pipelines"
INCLUDE = PORTS_DIR / "include"
# Where `make run` and the checker find the ports: their own pipelines and include folders.
PORT_ENV = {"SAGEMAKER_PIPELINES_DIR": str(PIPELINES), "SAGEMAKER_INCLUDE_DIR": str(INCLUDE)}
