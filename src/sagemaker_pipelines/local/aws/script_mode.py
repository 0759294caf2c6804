"""Script mode: run a user's training script the way the SageMaker training toolkit does.

The framework containers (scikit-learn, XGBoost, PyTorch) download ``sagemaker_submit_directory``, then run
``python <sagemaker_program> --<hp> <value> ...`` with the SM_* environment describing /opt/ml. Locally the
script runs with the server's own Python (it has scikit-learn, xgboost, pandas, numpy), in a child process
whose cwd is the extracted source folder, with SM_* variables pointing into the job's sandbox.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sagemaker_pipelines.local.aws.sandbox import JobDir, JobError, child_env, run_child, tail
from sagemaker_pipelines.local.aws.storage import S3Store, StorageError, extract_tarball


def decode_hyperparameters(raw: Mapping[str, str]) -> dict[str, Any]:
    """The SDK json.dumps every value; the toolkit json-decodes each and keeps the raw string otherwise."""
    decoded = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def is_script_mode(raw_hyperparameters: Mapping[str, str]) -> bool:
    return "sagemaker_program" in (raw_hyperparameters or {})


def to_cmd_args(hps: Mapping[str, Any]) -> list[str]:
    """``--name value`` pairs in key order, dicts as ``k=v,k2=v2`` (the toolkit's ``to_cmd_args``)."""
    args = []
    for key in sorted(hps):
        value = hps[key]
        if isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in sorted(value.items()))
        args += [f"--{key}", str(value)]
    return args


def fetch_source(store: S3Store, submit_directory: str, dest: Path, model_dir: Path | None = None) -> Path:
    """Materialise ``sagemaker_submit_directory`` (an S3 sourcedir.tar.gz, a folder in the model archive
    such as /opt/ml/model/code, or a local folder) into ``dest`` and return the folder."""
    if submit_directory.startswith("s3://"):
        try:
            extract_tarball(store.get(submit_directory), dest)
        except StorageError as exc:
            raise JobError(f"ClientError: cannot download the source directory: {exc}") from exc
        except Exception as exc:
            raise JobError(f"ClientError: {submit_directory} is not a valid tar.gz archive: {exc}") from exc
        return dest
    if model_dir is not None and submit_directory.startswith("/opt/ml/model"):
        return model_dir / submit_directory[len("/opt/ml/model") :].lstrip("/")
    if Path(submit_directory).is_dir():
        return Path(submit_directory)
    raise JobError(f"ClientError: unsupported sagemaker_submit_directory '{submit_directory}'")


def run_training_script(
    job: JobDir,
    store: S3Store,
    raw_hyperparameters: Mapping[str, str],
    channels: Mapping[str, Path],
    input_config: Mapping[str, Any],
    environment: Mapping[str, str],
    max_runtime: float | None,
) -> str:
    """Run the entry point; returns its whole output (for metric regexes) or raises JobError."""
    hps = decode_hyperparameters(raw_hyperparameters)
    program = str(hps.get("sagemaker_program", ""))
    submit = hps.get("sagemaker_submit_directory")
    opt_ml = job.opt_ml
    code_dir = opt_ml / "code"
    if submit:
        source = fetch_source(store, str(submit), code_dir)
    else:  # no submit directory: the program must be in the image (not possible locally)
        raise JobError("ClientError: hyperparameter sagemaker_submit_directory is missing")
    entry = source / program
    if not program or not entry.is_file():
        raise JobError(f"ClientError: entry point '{program}' not found in {submit}")

    model_dir, output_dir = opt_ml / "model", opt_ml / "output"
    output_data = output_dir / "data"
    config_dir = opt_ml / "input" / "config"
    for folder in (model_dir, output_data, config_dir):
        folder.mkdir(parents=True, exist_ok=True)
    user_hps = {k: v for k, v in hps.items() if not k.startswith("sagemaker_")}
    resource = {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
    (config_dir / "hyperparameters.json").write_text(json.dumps(dict(raw_hyperparameters)))
    (config_dir / "inputdataconfig.json").write_text(json.dumps(input_config))
    (config_dir / "resourceconfig.json").write_text(json.dumps(resource))

    args = to_cmd_args(user_hps)
    module = Path(program).stem
    training_env = {
        "channel_input_dirs": {c: str(p) for c, p in channels.items()},
        "current_host": "algo-1",
        "hosts": ["algo-1"],
        "hyperparameters": user_hps,
        "input_config_dir": str(config_dir),
        "input_data_config": input_config,
        "input_dir": str(opt_ml / "input"),
        "job_name": job.name,
        "model_dir": str(model_dir),
        "module_dir": str(submit),
        "module_name": module,
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "output_data_dir": str(output_data),
        "output_dir": str(output_dir),
        "resource_config": resource,
        "user_entry_point": program,
    }
    env = {
        **dict(environment),
        "SM_MODEL_DIR": str(model_dir),
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HPS": json.dumps(user_hps),
        "SM_OUTPUT_DATA_DIR": str(output_data),
        "SM_OUTPUT_DIR": str(output_dir),
        "SM_INPUT_DIR": str(opt_ml / "input"),
        "SM_INPUT_CONFIG_DIR": str(config_dir),
        "SM_INPUT_DATA_CONFIG": json.dumps(input_config),
        "SM_RESOURCE_CONFIG": json.dumps(resource),
        "SM_CURRENT_HOST": "algo-1",
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_NUM_GPUS": "0",
        "SM_MODULE_NAME": module,
        "SM_MODULE_DIR": str(submit),
        "SM_USER_ENTRY_POINT": program,
        "SM_TRAINING_ENV": json.dumps(training_env),
        "SM_USER_ARGS": json.dumps(args),
        "SM_LOG_LEVEL": "20",
    }
    for channel, path in channels.items():
        env[f"SM_CHANNEL_{channel.upper()}"] = str(path)
    for key, value in user_hps.items():
        env[f"SM_HP_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)

    result = run_child(job, [sys.executable, str(entry), *args], source, child_env(job, env), max_runtime)
    if result.timed_out:
        raise JobError(f"MaxRuntimeExceeded: the training job ran longer than {max_runtime:g} seconds")
    if result.returncode != 0:
        failure = output_dir / "failure"
        if failure.is_file() and failure.read_text().strip():
            raise JobError(failure.read_text().strip()[-1000:])
        raise JobError(
            f"AlgorithmError: ExecuteUserScriptError: ExitCode {result.returncode}\n{tail(result.output)}"
        )
    return result.output


def parse_metrics(output: str, definitions: list[Mapping[str, str]]) -> dict[str, float]:
    """The last value each MetricDefinitions regex captures in the job output (as CloudWatch would keep)."""
    found: dict[str, float] = {}
    for definition in definitions or []:
        try:
            pattern = re.compile(definition["Regex"])
        except (KeyError, re.error):
            continue
        for match in pattern.finditer(output):
            try:
                found[definition["Name"]] = float(match.group(1))
            except (IndexError, ValueError, TypeError):
                continue
    return found
