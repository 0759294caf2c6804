"""OpenLineage: off unless a transport is set (the provider is installed everywhere, so this is what a
deployment without lineage pays), on with ``make airflow --lineage FILE``'s settings, and the extractors
of airflow/lineage.py name the S3 locations of the tasks the provider's operators describe nothing of."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sagemaker_pipelines.local.stack_settings import StackConfig, lineage_settings

PROBE = """
import json, sys
from airflow.providers.openlineage.plugins.openlineage import OpenLineageProviderPlugin
print(json.dumps({"listeners": len(OpenLineageProviderPlugin.listeners),
                  "client": "openlineage.client.client" in sys.modules}))
"""


def _probe(tmp_path: Path, extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if "OPENLINEAGE" not in k}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="false", **extra)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_a_transport_openlineage_registers_nothing_and_loads_no_client(tmp_path):
    config = StackConfig(tmp_path, 8080, "local", "local")
    assert lineage_settings(config) == {}
    assert _probe(tmp_path, {}) == {"listeners": 0, "client": False}


def test_make_airflow_lineage_turns_on_the_listener_with_a_file_transport(tmp_path):
    settings = lineage_settings(StackConfig(tmp_path, 8080, "local", "local", lineage=tmp_path / "ol.jsonl"))
    transport = json.loads(settings["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport == {"type": "file", "log_file_path": str(tmp_path / "ol.jsonl"), "append": True}
    assert _probe(tmp_path, settings)["listeners"] == 1


def test_the_extractors_name_a_models_artifacts_and_a_tuning_jobs_data():
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerModelOperator

    from sagemaker_pipelines.airflow.jobs.operators import SageMakerTuningOperator
    from sagemaker_pipelines.airflow.lineage import ModelExtractor, TuningExtractor

    model = SageMakerModelOperator(
        task_id="m", config={"PrimaryContainer": {"ModelDataUrl": "s3://b/models/j/output/model.tar.gz"}}
    )
    lineage = ModelExtractor(model).extract_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://b", "models/j/output/model.tar.gz")]
    channel = {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "s3://b/data/train.csv"}}}
    definition = {"InputDataConfig": [channel], "OutputDataConfig": {"S3OutputPath": "s3://b/tuned"}}
    tuning = SageMakerTuningOperator(task_id="t", config={"TrainingJobDefinition": definition})
    lineage = TuningExtractor(tuning).extract_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://b", "data/train.csv")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("s3://b", "tuned")]
