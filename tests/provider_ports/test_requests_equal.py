"""Each port, compiled, makes the same operators with the same requests as the original system test.

Both sides are constructed as the provider's operator classes (ours as the kinds table names them, the
original's from ``originals.py``), their templated fields rendered by Airflow's own Jinja environment in
the same run context, and then compared attribute by attribute: what each operator sends or decides on.
Only these differ, by design, and each is asserted where it is normalised:

- names: ours append the run and the try (``-<ts_nodash>-<try>``) so a rerun never collides; with that
  suffix removed they are the original's (whose ``env_id`` placeholder is ``provider-port`` here);
- the bucket, the role and the built-in image's region are the environment's (placeholders in the
  originals: a bucket they create, a role from the test context, an image table of two regions);
- the AWS connection arguments (``aws_conn_id``, ``region_name``, ``verify``) are the environment's;
- a clean-up that the original runs with ``trigger_rule=all_done`` is a ``teardown: true`` task in the
  port, which Airflow runs once its setups are done, whatever their outcome (``all_done_setup_success``);
- a clean-up the original writes as a Python task calling boto3 is a clean-up kind in the port: its
  request (rebuilt by the kind's spec from the rendered arguments) is compared with the original's.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.compile.compiled import CompiledTask
from sagemaker_pipelines.compile.images import algorithm_image_uri
from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.format.environment import load_environment
from tests.templating import operator_class, render_all

from . import PIPELINES, originals
from .conftest import RUN_SUFFIX, run_context

CONNECTION = {"aws_conn_id", "region_name", "verify"}
# The condition operator's flat form: it turns it into ``conditions`` (compared) when constructed.
FLAT_CONDITION = {"condition_type", "left_value", "right_value"}
# Our own arguments, with no counterpart in the original: callbacks and the task's documentation.
OURS_ONLY = {"pre_execute", "doc_md", "on_failure_callback", "on_success_callback", "on_retry_callback"}


@pytest.fixture(scope="module")
def environment():
    return load_environment("local")


def without_run_suffix(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(RUN_SUFFIX, "")
    if isinstance(value, dict):
        return {k: without_run_suffix(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_run_suffix(v) for v in value]
    return value


def sent(operator: Any) -> dict[str, Any]:
    """What an operator sends or decides on: its templated fields but the connection's, and its wait."""
    fields = set(type(operator).template_fields) - CONNECTION - FLAT_CONDITION
    values = {name: getattr(operator, name) for name in sorted(fields)}
    if hasattr(operator, "wait_for_completion"):
        values["wait_for_completion"] = operator.wait_for_completion
    return values


def constructed(dotted: str, task_id: str, kwargs: dict[str, Any], jinja, context) -> Any:
    """The operator as Airflow would run it: constructed, then its template fields rendered."""
    operator = operator_class(dotted)(task_id=task_id, **copy.deepcopy(kwargs))
    for name in type(operator).template_fields:
        setattr(operator, name, render_all(jinja, getattr(operator, name), context))
    return operator


def differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Every field where the two differ, as readable lines (a failing test shows all of them at once)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found = []
        for key in sorted(set(ours) | set(theirs), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in theirs:
                found.append(f"{where}: ours sends {ours[key]!r}, the original nothing")
            elif key not in ours:
                found.append(f"{where}: the original sends {theirs[key]!r}, ours nothing")
            else:
                found += differences(ours[key], theirs[key], where)
        return found
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        pairs = enumerate(zip(ours, theirs, strict=True))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{path}[{i}]")]
    return [] if ours == theirs else [f"{path}: ours {ours!r}, the original {theirs!r}"]


def request_sent(task: CompiledTask, operator: Any) -> dict[str, Any]:
    """The request a task's operator sends, rebuilt from its rendered arguments by its kind's spec (the
    one place that knows which argument is which request field)."""
    arguments = {name: getattr(operator, name) for name in task.kwargs if name not in OURS_ONLY}
    return KINDS[task.kind].request_of(arguments)


def renamed(value: Any, names: dict[str, str]) -> Any:
    """``value`` with our names that SageMaker's limits made shorter than the original's replaced by the
    original's (an AutoML or tuning job's name holds 12 characters of ours and the run's timestamp)."""
    if isinstance(value, str):
        for ours, theirs in sorted(names.items(), key=lambda item: -len(item[0])):
            value = value.replace(ours, theirs)
        return value
    if isinstance(value, dict):
        return {k: renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v, names) for v in value]
    return value


def compare(
    name: str,
    original: originals.Original,
    xcom: dict[str, Any],
    jinja,
    environment,
    names: dict[str, str] | None = None,
) -> list[str]:
    """Each original task's operator (or boto3 request) against the port's task of the same id: the
    differences found. ``names``: our shortened names, with the run's stamp, and the original's."""
    result = check_file(PIPELINES / f"{name}.yaml", environment)
    assert result.problems == [], [p.format() for p in result.problems]
    port = result.compiled
    context = run_context(xcom)
    found = []
    for task_id, entry in original.items():
        task = port.task(task_id)
        ours_kwargs = {k: v for k, v in task.kwargs.items() if k not in OURS_ONLY}
        ours = constructed(task.operator, task_id, ours_kwargs, jinja, context)
        if isinstance(entry, originals.Boto3Call):
            assert KINDS[task.kind].api_operation == entry.operation, (task_id, task.kind, entry)
            ours_sent, theirs_sent = request_sent(task, ours), render_all(jinja, entry.request, context)
        else:
            dotted, kwargs = entry
            theirs = constructed(dotted, task_id, kwargs, jinja, context)
            assert isinstance(ours, operator_class(dotted)), (task_id, task.operator, dotted)
            ours_sent, theirs_sent = sent(ours), sent(theirs)
        ours_sent = without_run_suffix(renamed(ours_sent, names or {}))
        found += [f"{task_id}: {d}" for d in differences(ours_sent, theirs_sent)]
    return found


def knn_image(environment) -> str:
    """The originals' KNN image (``.../knn:1`` of their region) in the environment's region."""
    image = algorithm_image_uri("knn", environment.region)
    assert image.endswith("/knn:1"), image
    return image


def test_the_endpoint_port_sends_the_originals_requests(jinja, environment, port_folders):
    job = f"{originals.ENV_ID}-train{RUN_SUFFIX}"
    xcom = {
        "train_model": {"Training": {"TrainingJobName": job}},
        "create_model": {"Model": {"ModelName": f"{originals.ENV_ID}-KNN-model{RUN_SUFFIX}"}},
        "configure_endpoint": {
            "EndpointConfig": {"EndpointConfigName": f"{originals.ENV_ID}-endpoint-config{RUN_SUFFIX}"}
        },
    }
    original = originals.endpoint_example(environment.bucket, environment.role_arn, knn_image(environment))
    assert compare("example_sagemaker_endpoint", original, xcom, jinja, environment) == []


def test_the_notebook_port_sends_the_originals_requests(jinja, environment, port_folders):
    original = originals.notebook_example(environment.role_arn)
    assert compare("example_sagemaker_notebook", original, {}, jinja, environment) == []


def test_the_condition_port_makes_the_originals_decisions(jinja, environment, port_folders):
    xcom = {"produce_metrics": {"accuracy": 0.95, "loss": 0.04}, "produce_bad_metrics": {"accuracy": 0.5}}
    original = originals.condition_example()
    assert compare("example_sagemaker_condition", original, xcom, jinja, environment) == []


def test_the_pipeline_port_sends_the_originals_requests(jinja, environment, port_folders):
    arn = (
        f"arn:aws:sagemaker:{environment.region}:123456789012:pipeline/{originals.ENV_ID}-pipeline/execution/"
    )
    xcom = {"start_pipeline1": arn + "one", "start_pipeline2": arn + "two"}
    original = originals.pipeline_example(environment.role_arn)
    assert compare("example_sagemaker_pipeline", original, xcom, jinja, environment) == []


# The preprocessing image the original builds and pushes to the ECR repository its set_up creates, named
# in the port as the account's repository in the environment's region.
PREPROCESSING_IMAGE = "123456789012.dkr.ecr.us-east-2.amazonaws.com/provider-port-repo"


def test_the_sagemaker_port_sends_the_originals_requests(jinja, port_folders):
    """Compiled for AWS: in the local environment validate refuses the custom image, which no local
    container runs (test_the_sagemaker_port_says_locally_which_task_cannot_run)."""
    environment = load_environment("aws")
    env_id = originals.ENV_ID
    arn = f"arn:aws:sagemaker:{environment.region}:123456789012"
    automl_job = "port-automl-20210101T000000"  # one name per run: a sensor and a stop name it
    xcom = {
        "create_experiment": f"{arn}:experiment/{env_id}-experiment{RUN_SUFFIX}",
        "preprocess_raw_data": {"Processing": {"ProcessingJobName": f"{env_id}-processing{RUN_SUFFIX}"}},
        "train_model": {"Training": {"TrainingJobName": f"{env_id}-train{RUN_SUFFIX}"}},
        "create_model": {"Model": {"ModelName": f"{env_id}-KNN-model{RUN_SUFFIX}"}},
        "register_model": f"{arn}:model-package/{env_id}-group/1",
        "tune_model": {"Tuning": {"HyperParameterTuningJobName": f"port-tune{RUN_SUFFIX}"}},
        "test_model": {"Transform": {"TransformJobName": f"{env_id}-transform{RUN_SUFFIX}"}},
    }
    names = {automl_job: f"{env_id}-automl", f"port-tune{RUN_SUFFIX}": f"{env_id}-tune"}
    original = originals.sagemaker_example(
        environment.bucket, environment.role_arn, knn_image(environment), PREPROCESSING_IMAGE
    )
    assert compare("example_sagemaker", original, xcom, jinja, environment, names) == []


def test_the_sagemaker_port_says_locally_which_task_cannot_run(port_folders):
    """The one task of example_sagemaker the local endpoint cannot run is its custom-image preprocessing,
    and validate in the local environment says so, and why; every other task checks clean there."""
    result = check_file(PIPELINES / "example_sagemaker.yaml", load_environment("local"))
    problems = [(p.field, p.severity) for p in result.problems]
    assert problems == [("tasks.preprocess_raw_data.image", "error")], [p.format() for p in result.problems]
    message = result.problems[0].format()
    assert "cannot run locally" in message and "runs no containers" in message, message


def test_the_unified_studio_port_sends_the_originals_arguments(jinja, environment, port_folders):
    """Its wait too: the original waits in the worker, checking every 5 seconds (the environment's
    interval is what the other ports' waits take)."""
    original = originals.unified_studio_example()
    assert compare("example_sagemaker_unified_studio", original, {}, jinja, environment) == []
    port = check_file(PIPELINES / "example_sagemaker_unified_studio.yaml", environment).compiled
    kwargs = port.task("run-notebook").kwargs
    theirs = original["run-notebook"][1]
    assert {k: kwargs[k] for k in ("waiter_delay", "deferrable")} == {"waiter_delay": 5, "deferrable": False}
    assert (theirs["waiter_delay"], theirs["deferrable"]) == (5, False)
