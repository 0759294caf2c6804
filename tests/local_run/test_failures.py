"""A failing training script fails its task, with the script's own error in the log."""

from __future__ import annotations

import shutil
import textwrap

from sagemaker_pipelines.paths import CHECKOUT_ROOT

FAILING_SCRIPT = textwrap.dedent(
    """
    import os

    def main():
        rows = open(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv")).read().splitlines()
        raise ValueError(f"feature scaling diverged after {len(rows)} rows")

    if __name__ == "__main__":
        main()
    """
)

PIPELINE = textwrap.dedent(
    """
    start_date: 2024-01-01
    schedule: null
    default_args: {retries: 0}
    s3:
      prefixes: {input: failing/input, output: failing/output}
    tasks:
      data_prep:
        kind: python
        callable: include/iris_data.py:prepare_iris
        arguments:
          data_url: ${env.iris_data_url}
          input_uri: ${s3.input}
          aws_conn_id: ${env.aws_conn_id}
      train:
        kind: training
        depends_on: [data_prep]
        entry_point: include/failing/train.py
        framework: sklearn
        inputs: {train: "${s3.input}/train.csv"}
        output: ${s3.output}/
    """
)


def test_failing_training_script_fails_the_task_with_its_error(run_pipeline, tmp_path):
    include = tmp_path / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include)
    (include / "failing").mkdir()
    (include / "failing" / "train.py").write_text(FAILING_SCRIPT)
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "failing_script.yaml").write_text(PIPELINE)

    result = run_pipeline(
        "failing_script",
        extra_env={
            "SAGEMAKER_PIPELINES_DIR": str(pipelines),
            "SAGEMAKER_INCLUDE_DIR": str(include),
            "SAGEMAKER_DAGS_DIR": str(tmp_path / "dags"),
        },
    )
    assert result.returncode == 1
    assert result.report["state"] == "failed"
    assert result.task("data_prep")["state"] == "success"
    assert result.task("train")["state"] == "failed"
    assert "feature scaling diverged after 105 rows" in result.output
