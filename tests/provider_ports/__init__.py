"""Ports of the Amazon provider's SageMaker system tests: each a pipeline under ``pipelines/`` (with its
Python tasks and files under ``include/``), compared with the original here (``test_requests_equal.py``,
against ``originals.py``) and run end to end in ``tests/local_run/test_provider_ports.py``.

Ported, every SageMaker request of each original compared field for field and every task in success
locally:

- example_sagemaker_condition, example_sagemaker_notebook;
- example_sagemaker_endpoint, with all its clean-ups (endpoint config, endpoint, model, in its order);
- example_sagemaker_pipeline: its boto3 set-up and clean-ups are upsert_pipeline, delete_pipeline and
  delete_experiment tasks (the experiment its definition makes, by name: no task of the port makes it);
- example_sagemaker: AutoML, experiment, processing, training, model, registry, tuning and transform, each
  job with its sensor, and its SageMaker clean-ups (the model version then its group, the model, stop
  AutoML, and the three experiments: its own and those SageMaker makes for the AutoML and tuning jobs,
  by ``delete_experiment``'s ``job:``). Compared in the ``aws`` environment: its preprocessing runs a
  custom image the original builds, which no local container runs, so ``validate`` in the local
  environment refuses that one task and says why; the local run gives that task the script the image's
  CMD runs (``include/preprocessing.py``, one line adapted to pandas 3) as its command;
- example_sagemaker_unified_studio: a studio_notebook task (``include/test_notebook.ipynb`` stands for
  the notebook the original expects in its project).

Where a port differs from its original, by design: names (ours append the run and try; AutoML and tuning
job names keep 12 characters of ours, for SageMaker's 32); the bucket, role and region are the
environment's; ``start_pipeline`` tasks name the operator's default display name, which the kind would
replace by the task id. Left out of every port on purpose: the originals' test-context and watcher tasks
(the system-test harness, not the DAG), their bucket creation and deletion (a port uses the
environment's bucket, which other runs share), their log pruning, example_sagemaker's ECR repository,
Docker build and their clean-ups (a port names an image built beforehand; no kind builds images) and
example_sagemaker_unified_studio's MWAA emulation (``mock_mwaa_environment`` and ``executor_config``:
an environment sets the variables the SDK reads).
"""

from __future__ import annotations

from pathlib import Path

PORTS_DIR = Path(__file__).resolve().parent
PIPELINES = PORTS_DIR / "pipelines"
INCLUDE = PORTS_DIR / "include"
# Where `make run` and the checker find the ports: their own pipelines and include folders.
PORT_ENV = {"SAGEMAKER_PIPELINES_DIR": str(PIPELINES), "SAGEMAKER_INCLUDE_DIR": str(INCLUDE)}
