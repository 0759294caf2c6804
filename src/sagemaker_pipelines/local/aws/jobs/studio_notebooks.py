"""Unified Studio notebook executions: the training jobs the sagemaker_studio SDK starts, really run.

The SDK's remote execution client (what the provider's SageMakerNotebookOperator uses) starts a notebook
as a CreateTrainingJob of the SageMaker Distribution image with ContainerEntrypoint
``amazon_sagemaker_scheduler``: the project's files in the ``sagemaker_workflows`` channel, the notebook's
path in ``SM_INPUT_NOTEBOOK_NAME``, its parameters as HyperParameters, the output notebook's name in
``SM_OUTPUT_NOTEBOOK_NAME``. Here the training job runner hands such a job to :func:`run_notebook`, which
executes the notebook's code cells in order, in one namespace, in a child process of this machine's
Python (the job sandbox every job uses; IPython magics and shell lines are skipped and logged). The
parameters are injected after the cell tagged ``parameters`` (else first), typed as papermill's ``-p``
types them (int, float, True/False/None, else text). The executed notebook, with each cell's printed
output or error, goes to ``/opt/ml/model/<SM_OUTPUT_NOTEBOOK_NAME>``: the job's model.tar.gz, which the
SDK reports as the execution's ``s3_path``. A failing cell fails the job with its error.

Before that the SDK asks DataZone for the project's tooling environment (``local/aws/jobs/datazone.py``) and,
for a SageMaker Distribution image named by version, SSM for the public parameter
:data:`DISTRIBUTION_ACCOUNT_PARAMETER` (the image's ECR account): moto refuses to create ``/aws/service/``
parameters, as AWS does, so it is seeded here the way moto seeds its other public parameters, with the
backend's own account (the image URI it makes is only a name to the local runner).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.sandbox import JobDir, JobError, child_env, run_child, tail

SCHEDULER_ENTRYPOINT = ["amazon_sagemaker_scheduler"]
INPUT_CHANNEL = "sagemaker_workflows"
DISTRIBUTION_ACCOUNT_PARAMETER = "/aws/service/sagemaker-distribution/ecr-account-id"

# Run in the child: execute the code cells, record what each printed, write the executed notebook.
_RUNNER = r"""
import contextlib, io, json, sys, traceback

source, target, parameters = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])


def typed(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


notebook = json.load(open(source))
cells = notebook.get("cells", [])
if parameters:
    lines = [f"{name} = {typed(value)!r}\n" for name, value in parameters.items()]
    injected = {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": lines,
                "outputs": [], "execution_count": None}
    tagged = [i for i, c in enumerate(cells) if "parameters" in (c.get("metadata", {}).get("tags") or [])]
    cells.insert(tagged[0] + 1 if tagged else 0, injected)
namespace = {"__name__": "__main__"}
failed = None
count = 0
for cell in cells:
    if cell.get("cell_type") != "code":
        continue
    text = "".join(cell.get("source", []))
    kept = [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
    if len(kept) != len(text.splitlines()):
        print(f"[notebook] skipped {len(text.splitlines()) - len(kept)} magic/shell line(s)", flush=True)
    count += 1
    cell["execution_count"] = count
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile("\n".join(kept), f"<cell {count}>", "exec"), namespace)
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": out.getvalue()}]
    except Exception as exc:
        cell["outputs"] = [{"output_type": "error", "ename": type(exc).__name__, "evalue": str(exc),
                            "traceback": traceback.format_exc().splitlines()}]
        failed = f"cell {count}: {type(exc).__name__}: {exc}"
    sys.stdout.write(out.getvalue())
    if failed:
        break
notebook["cells"] = cells
json.dump(notebook, open(target, "w"), indent=1)
print(f"[notebook] {count} code cell(s) run; wrote {target}", flush=True)
if failed:
    print(f"[notebook] failed at {failed}", file=sys.stderr, flush=True)
    sys.exit(1)
"""


def is_notebook_execution(algorithm_specification: Mapping[str, Any]) -> bool:
    """Whether a CreateTrainingJob is the SDK's notebook execution (its scheduler entry point)."""
    return list(algorithm_specification.get("ContainerEntrypoint") or []) == SCHEDULER_ENTRYPOINT


def run_notebook(
    jd: JobDir,
    channels: Mapping[str, Path],
    parameters: Mapping[str, str],
    environment: Mapping[str, str],
    model_dir: Path,
    max_runtime: float | None,
) -> None:
    """Execute the job's notebook; JobError names the cell that failed, or what is missing."""
    if INPUT_CHANNEL not in channels:
        raise JobError(f"ClientError: a notebook execution needs the '{INPUT_CHANNEL}' channel")
    name = environment.get("SM_INPUT_NOTEBOOK_NAME", "")
    source = (channels[INPUT_CHANNEL] / name).resolve()
    if not name or not source.is_relative_to(channels[INPUT_CHANNEL].resolve()) or not source.is_file():
        raise JobError(f"ClientError: notebook '{name}' is not among the project files ({INPUT_CHANNEL})")
    output_name = Path(environment.get("SM_OUTPUT_NOTEBOOK_NAME") or source.name).name
    formats = [f for f in (environment.get("SM_OUTPUT_FORMATS") or "").split(",") if f]
    if formats:
        jd.phase(f"output formats {', '.join(formats)}: not made locally (the executed notebook is)")
    runner = jd.root / "run_notebook.py"
    runner.write_text(_RUNNER)
    target = model_dir / output_name
    argv = [sys.executable, str(runner), str(source), str(target), json.dumps(dict(parameters))]
    result = run_child(jd, argv, source.parent, child_env(jd, dict(environment)), max_runtime)
    if result.timed_out:
        raise JobError(f"MaxRuntimeExceeded: the notebook ran longer than {max_runtime} seconds")
    if result.returncode != 0:
        raise JobError(f"AlgorithmError: the notebook failed\n{tail(result.output)}")


@registry.wraps("_check_loading_status", target="ssm.models.ParameterDict")
def _seed_distribution_account(original: Any) -> Any:
    """moto loads public parameters when first asked for them: add the SageMaker Distribution account."""

    def check_loading_status(self: Any, key: str) -> None:
        original(self, key)
        if not str(key or "").startswith(DISTRIBUTION_ACCOUNT_PARAMETER) or getattr(
            self, "_smd_loaded", False
        ):
            return
        from moto.core.utils import utcnow
        from moto.ssm.models import Parameter

        self._smd_loaded = True
        versions = defaultdict.__getitem__(self, DISTRIBUTION_ACCOUNT_PARAMETER)  # not self[...]: no reload
        versions.append(
            Parameter(
                account_id=self.account_id,
                name=DISTRIBUTION_ACCOUNT_PARAMETER,
                value=self.account_id,
                parameter_type="String",
                description=None,
                allowed_pattern=None,
                keyid=None,
                last_modified_date=utcnow(),
                version=1,
                data_type="text",
            )
        )

    return check_loading_status
