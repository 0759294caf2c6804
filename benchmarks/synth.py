"""Synthetic, deterministic pipelines for the parse-time benchmark.

Each pipeline is a valid YAML pipeline of 4 to 12 SageMaker tasks: processing (custom image + command,
or an ``include/iris_data.py`` entry point), training with a built-in algorithm (knn, xgboost,
linear-learner), model, batch transform, endpoint config and endpoint. S3 locations are literal
``s3://`` URIs, so the raw files also satisfy ``schemas/pipeline.schema.json`` unresolved (what
check-jsonschema sees); the only references are ``${params.<name>}`` inside hyperparameters, which are
plain strings to the schema.
"""

from __future__ import annotations

import random
from pathlib import Path

BUCKET = "bench-data-bucket"
IMAGE = "123456789012.dkr.ecr.us-east-2.amazonaws.com/bench-preprocess:1.{minor}"
ENTRY_POINT = "include/iris_data.py"  # an existing script under include/ (entry_point must exist)

SCHEDULES = ['"@daily"', '"@hourly"', '"0 6 * * 1-5"', "null", '"@weekly"']
TRAINING_INSTANCES = ["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.c5.2xlarge"]
TRANSFORM_INSTANCES = ["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge"]
PROCESSING_INSTANCES = ["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge"]
ENDPOINT_INSTANCES = ["ml.m5.large", "ml.m5.xlarge", "ml.c5.large"]
ALGORITHMS = ["knn", "xgboost", "linear-learner"]


def _hyperparameters(rng: random.Random, algorithm: str, param: str | None) -> list[str]:
    if algorithm == "knn":
        k = f'"${{params.{param}}}"' if param else str(rng.randint(1, 20))
        return [
            "predictor_type: classifier",
            f"feature_dim: {rng.choice([4, 8, 16, 32])}",
            f"k: {k}",
            f"sample_size: {rng.choice([150, 500, 1000])}",
        ]
    if algorithm == "xgboost":
        rounds = f'"${{params.{param}}}"' if param else str(rng.randint(50, 500))
        return [
            f"num_round: {rounds}",
            f"max_depth: {rng.randint(3, 10)}",
            f"eta: {rng.choice([0.1, 0.2, 0.3])}",
            "objective: binary:logistic",
        ]
    epochs = f'"${{params.{param}}}"' if param else str(rng.randint(5, 30))
    return [
        "predictor_type: binary_classifier",
        f"feature_dim: {rng.choice([4, 8, 16])}",
        f"mini_batch_size: {rng.choice([100, 200, 500])}",
        f"epochs: {epochs}",
    ]


class _Builder:
    """Appends tasks (as YAML lines) and remembers what later tasks may refer to."""

    def __init__(self, rng: random.Random, index: int, param: str | None):
        self.rng = rng
        self.prefix = f"s3://{BUCKET}/p{index:04d}"
        self.param = param
        self.lines: list[str] = []
        self.count = 0
        self.data_tasks: list[str] = []  # processing tasks whose output trainings read
        self.models: list[str] = []

    def _task(self, kind: str, fields: list[str], depends_on: list[str] | None = None) -> str:
        task_id = f"{kind}_{self.count}"
        self.count += 1
        self.lines.append(f"  {task_id}:")
        self.lines.append(f"    kind: {kind}")
        if depends_on:
            self.lines.append(f"    depends_on: [{', '.join(depends_on)}]")
        self.lines.extend(f"    {line}" for line in fields)
        self.lines.append("")
        return task_id

    def processing(self) -> None:
        rng = self.rng
        n = self.count
        if rng.random() < 0.25:
            source = [f"entry_point: {ENTRY_POINT}", "framework: sklearn"]
        else:
            source = [
                f"image: {IMAGE.format(minor=rng.randint(0, 9))}",
                "command: [python3, /opt/ml/processing/code/prepare.py]",
            ]
        fields = [
            *source,
            f'arguments: ["--split", "0.{rng.randint(1, 4)}", "--seed", "{rng.randint(1, 999)}"]',
            "inputs:",
            f"  raw: {self.prefix}/raw/{n}/",
            "outputs:",
            f"  train: {self.prefix}/prepared/{n}/train/",
            "  validation:",
            f"    s3_uri: {self.prefix}/prepared/{n}/validation/",
            "    local_path: /opt/ml/processing/output/validation",
            f"instance_type: {rng.choice(PROCESSING_INSTANCES)}",
            f"max_runtime: {rng.choice(['30m', '1h', '2h'])}",
        ]
        if rng.random() < 0.3:
            fields.append(f"environment: {{STAGE: bench, SHARD: '{rng.randint(0, 9)}'}}")
        self.data_tasks.append(self._task("processing", fields, self.data_tasks[-1:]))

    def training_and_model(self) -> None:
        rng = self.rng
        n = self.count
        algorithm = rng.choice(ALGORITHMS)
        upstream = [rng.choice(self.data_tasks)] if self.data_tasks else []
        train_uri = f"{self.prefix}/prepared/{n}/train/"
        inputs = (
            ["  train:", f"    s3_uri: {train_uri}", "    content_type: text/csv"]
            if rng.random() < 0.6
            else [f"  train: {train_uri}"]
        )
        if rng.random() < 0.5:
            inputs.append(f"  validation: {self.prefix}/prepared/{n}/validation/")
        fields = [
            f"algorithm: {algorithm}",
            "hyperparameters:",
            *(f"  {h}" for h in _hyperparameters(rng, algorithm, self.param)),
            "inputs:",
            *inputs,
            f"output: {self.prefix}/models/{n}/",
            f"instance_type: {rng.choice(TRAINING_INSTANCES)}",
            f"volume_size: {rng.choice([5, 10, 30])}",
            f"max_runtime: {rng.choice([3600, '2h', '6h'])}",
        ]
        if rng.random() < 0.3:
            fields += ["retries: 2", "execution_timeout: 8h"]
        train = self._task("training", fields, upstream)
        model_fields = [f"from: {train}"]
        if rng.random() < 0.5:
            model_fields.append(f"name: bench-model-{n}")
        self.models.append(self._task("model", model_fields))

    def transform(self) -> None:
        rng = self.rng
        n = self.count
        fields = [
            f"model: {rng.choice(self.models)}",
            f"input: {self.prefix}/batch/{n}/input.csv",
            "content_type: text/csv",
            "split_type: Line",
            f"output: {self.prefix}/batch/{n}/output/",
            f"instance_type: {rng.choice(TRANSFORM_INSTANCES)}",
        ]
        if rng.random() < 0.5:
            fields += ["accept: text/csv", "assemble_with: Line"]
        self._task("transform", fields)

    def endpoint(self) -> None:
        rng = self.rng
        config = self._task(
            "endpoint_config",
            [
                f"model: {rng.choice(self.models)}",
                f"instance_type: {rng.choice(ENDPOINT_INSTANCES)}",
                f"instance_count: {rng.randint(1, 3)}",
            ],
        )
        fields = [f"endpoint_config: {config}", f"wait_for_completion: {rng.choice(['true', 'false'])}"]
        self._task("endpoint", fields)


def pipeline_text(index: int, seed: int) -> str:
    """The YAML text of synthetic pipeline ``index``: same seed and index, same text."""
    rng = random.Random(seed * 1_000_003 + index)
    target = rng.randint(4, 12)
    param = rng.choice(["k", "rounds", "epochs"]) if rng.random() < 0.5 else None
    b = _Builder(rng, index, param)
    if rng.random() < 0.7:
        b.processing()
    b.training_and_model()
    while b.count < target:
        left = target - b.count
        options = ["processing", "transform"] + (["training_and_model", "endpoint"] if left >= 2 else [])
        getattr(b, rng.choice(options))()

    head = [
        f"# Synthetic pipeline {index} for benchmarks/bench.py (seed {seed}); regenerated on every run.",
        f"description: Synthetic benchmark pipeline {index} with {b.count} SageMaker tasks.",
        f"schedule: {rng.choice(SCHEDULES)}",
        f"start_date: {rng.choice(['2021-07-31', '2023-01-01', '2024-06-15'])}",
        "catchup: false",
        f"max_active_runs: {rng.randint(1, 3)}",
        f"tags: [bench, synthetic, group-{index % 7}]",
        "default_args:",
        f"  owner: {rng.choice(['airflow', 'data-science', 'ml-platform'])}",
        "  depends_on_past: false",
        f"  retries: {rng.randint(0, 3)}",
        f"  retry_delay: {rng.choice(['1m', '5m', '90s'])}",
    ]
    if param:
        default = {"k": 5, "rounds": 100, "epochs": 10}[param]
        head += [
            "params:",
            f"  {param}:",
            "    type: integer",
            f"    default: {default}",
            "    minimum: 1",
            f"    description: Synthetic run parameter {param}.",
        ]
    if rng.random() < 0.3:
        head += ["defaults:", "  instance_type: ml.m5.xlarge", "  volume_size: 20"]
    return "\n".join([*head, "", "tasks:", *b.lines]).rstrip() + "\n"


def dag_id(index: int) -> str:
    return f"synthetic_{index:04d}"


def write_pipelines(folder: Path, n: int, seed: int) -> list[Path]:
    """``n`` pipelines ``synthetic_0000.yaml``... into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{dag_id(i)}.yaml"
        path.write_text(pipeline_text(i, seed), encoding="utf-8")
        paths.append(path)
    return paths
