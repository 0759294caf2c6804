"""Guardrails (environment ``guardrails:``): validate refuses literal values beyond them at the YAML value
they come from, ``config:`` cannot set what they fix, and the run-time checks (a task's ``pre_execute``,
a run-time for_each list's ``<task>__items`` step) refuse rendered values before any AWS call."""

from __future__ import annotations

import dataclasses
import textwrap
from types import SimpleNamespace

import pytest

from sagemaker_pipelines.format.guardrails import read_guardrails

GUARDRAILS = {
    "roles": ["arn:aws:iam::123456789012:role/sagemaker-*"],
    "instance_types": {"default": ["ml.m5.*", "ml.t3.medium"], "endpoint_config": ["ml.t3.medium"]},
    "max_instance_count": {"default": 2, "training": 3},
    "max_runtime": {"default": "2h", "training": "1d"},
    "max_fan_out": {"per_task": 3, "per_run": 5},
    "buckets": {"read": ["public-data"], "write": ["team-*"]},
    "required_tags": {"cost-center": "ml", "owner": None},
}


@pytest.fixture
def env(local_env):
    """The local environment with the guardrails above."""
    return dataclasses.replace(local_env, guardrails=read_guardrails(GUARDRAILS))


def training(extra: str = "", head: str = "") -> str:
    return f"""\
start_date: 2024-01-01
{head}tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters: {{k: 3, feature_dim: 4, predictor_type: classifier, sample_size: 100}}
    inputs: {{train: "s3://public-data/iris/train.csv"}}
    output: s3://team-ml/out/
    config: {{Tags: [{{Key: owner, Value: me}}]}}
{extra}"""


def problems(check, text, env):
    result = check(text, environment=env)
    return [(p.line, p.column, p.field, p.message, p.code) for p in result.problems]


def test_a_pipeline_within_the_guardrails_compiles_with_the_fixed_tags_added(compile_ok, env):
    config = compile_ok(training(), environment=env).task("train").kwargs["config"]
    assert {"Key": "cost-center", "Value": "ml"} in config["Tags"]  # set by the environment
    assert {"Key": "owner", "Value": "me"} in config["Tags"]  # the task's own


def test_no_guardrails_block_changes_nothing(compile_ok, local_env):
    plain = dataclasses.replace(local_env, guardrails=None)
    text = training("    instance_type: ml.p5.48xlarge\n").replace(
        "config: {", "config: {RoleArn: 'arn:aws:iam::999999999999:role/x', "
    )
    compiled = compile_ok(text, environment=plain)
    task = compiled.task("train")
    assert task.kwargs["config"]["RoleArn"] == "arn:aws:iam::999999999999:role/x"
    assert task.kwargs["pre_execute"]["__callable__"].endswith("LoopbackOnly")


def test_an_instance_type_beyond_them_is_refused_at_the_task_field(check, env):
    found = problems(check, training("    instance_type: ml.p5.48xlarge\n"), env)
    assert found == [
        (
            10,
            20,
            "tasks.train.instance_type",
            "guardrail instance_types: instance type 'ml.p5.48xlarge' is not allowed for training tasks in "
            "environment 'local' (allowed: ml.m5.*, ml.t3.medium)",
            "guardrail",
        )
    ]


def test_a_kind_has_its_own_list(check, env):
    text = """\
    start_date: 2024-01-01
    tasks:
      cfg:
        kind: endpoint_config
        model_name: existing-model
        instance_type: ml.m5.large
        config: {Tags: [{Key: owner, Value: me}]}
    """
    ((line, column, field, message, _),) = problems(check, textwrap.dedent(text), env)
    assert (line, column, field) == (6, 20, "tasks.cfg.instance_type")
    assert "not allowed for endpoint config tasks" in message and "(allowed: ml.t3.medium)" in message


def test_a_literal_for_each_element_is_refused_at_the_element(check, env):
    text = training("    for_each: [ml.m5.large, ml.g5.xlarge]\n    instance_type: ${item}\n")
    ((line, column, field, message, _),) = problems(check, text, env)
    assert (line, column, field) == (10, 29, "tasks.train.for_each[1]")
    assert "'ml.g5.xlarge' is not allowed" in message


def test_a_pipeline_default_is_refused_at_the_default(check, env):
    text = training(head="defaults: {instance_type: ml.c5.xlarge}\n")
    ((line, _, field, message, _),) = problems(check, text, env)
    assert (line, field) == (2, "defaults.instance_type") and "ml.c5.xlarge" in message


def test_counts_and_run_times_have_ceilings_per_kind(check, env):
    found = problems(check, training("    instance_count: 4\n    max_runtime: 2d\n"), env)
    assert [(f[2], f[3]) for f in found] == [
        (
            "tasks.train.instance_count",
            "guardrail max_instance_count: 4 instances; training tasks in "
            "environment 'local' may use at most 3",
        ),
        (
            "tasks.train.max_runtime",
            "guardrail max_runtime: a run time of 172800 s; training tasks in "
            "environment 'local' may run at most 86400 s",
        ),
    ]
    assert problems(check, training("    instance_count: 3\n    max_runtime: 1d\n"), env) == []


def test_a_role_outside_the_allowed_ones_is_refused(check, env):
    text = training("    role_arn: arn:aws:iam::999999999999:role/sagemaker-admin\n")
    ((_, _, field, message, _),) = problems(check, text, env)
    assert field == "tasks.train.role_arn" and "guardrail roles" in message
    assert "(allowed: arn:aws:iam::123456789012:role/sagemaker-*)" in message


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (("s3://public-data/iris/train.csv", "s3://other/train.csv"), "may not read from bucket 'other'"),
        (("s3://team-ml/out/", "s3://public-data/out/"), "may not write to bucket 'public-data'"),
    ],
)
def test_buckets_are_read_or_written_only_where_allowed(check, env, change, said):
    found = problems(check, training().replace(*change), env)
    assert len(found) == 1 and said in found[0][3] and found[0][3].startswith("guardrail buckets")
    assert found[0][2] in ("tasks.train.inputs.train", "tasks.train.output")


def test_the_environments_own_bucket_is_always_allowed(compile_ok, env):
    compile_ok(training().replace("s3://team-ml/out/", "s3://sagemaker-local/out/"), environment=env)


def test_a_required_tag_without_a_value_must_be_set_by_the_task(check, env):
    found = problems(check, training().replace("config: {Tags: [{Key: owner, Value: me}]}", "name: x"), env)
    assert [f[3] for f in found] == [
        "guardrail required_tags: every request in environment 'local' carries the tag 'owner'; "
        "set it in config: Tags"
    ]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ("RoleArn: 'arn:aws:iam::123456789012:role/sagemaker-x'", "RoleArn"),
        ("VpcConfig: {SecurityGroupIds: [sg-1], Subnets: [subnet-1]}", "VpcConfig"),
        ("OutputDataConfig: {KmsKeyId: alias/mine}", "OutputDataConfig.KmsKeyId"),
        ("EnableNetworkIsolation: false", "EnableNetworkIsolation"),
        ("S3Operations: {S3Upload: [{Path: /etc, Bucket: team-ml, Key: x, Tar: true}]}", "S3Operations"),
    ],
)
def test_config_may_not_set_what_the_environment_fixes(check, env, config, field):
    text = training().replace("config: {", "config: {" + config + ", ")
    found = [f for f in problems(check, text, env) if f[2] == f"tasks.train.config.{field}"]
    assert len(found) == 1 and found[0][4] == "guardrail", problems(check, text, env)
    assert found[0][3].startswith(f"config: may not set {field.rpartition('.')[2]}")


def test_config_may_not_change_a_tag_the_environment_sets(check, env):
    text = training().replace(
        "{Key: owner, Value: me}", "{Key: owner, Value: me}, {Key: cost-center, Value: x}"
    )
    ((_, _, field, message, _),) = problems(check, text, env)
    assert field == "tasks.train.config.Tags[1].Value"
    assert "may not change the tag 'cost-center': the environment sets it to 'ml'" in message


def test_literal_fan_out_has_a_width_per_task_and_per_run(check, env):
    text = training("    for_each: [1, 2, 3, 4]\n").replace("k: 3,", "k: '${item}',")
    ((_, _, field, message, _),) = problems(check, text, env)
    assert field == "tasks.train.for_each" and message.startswith(
        "guardrail max_fan_out.per_task: 4 elements"
    )
    second = "\n  again:\n" + "\n".join(
        line for line in training("    for_each: [1, 2, 3]\n").split("\n")[3:] if line
    )
    found = problems(check, training("    for_each: [1, 2, 3]\n") + second, env)
    assert found and all("guardrail max_fan_out.per_run: the for_each lists" in f[3] for f in found)


# --- at run time: the same check on rendered values, before any AWS call ------------------------------


def test_the_task_guard_refuses_a_rendered_request_beyond_them(compile_ok, env):
    from airflow.sdk.exceptions import AirflowFailException

    from sagemaker_pipelines.airflow.dag_builder import _python_values

    task = compile_ok(training(), environment=env).task("train")
    guard = _python_values(task.kwargs["pre_execute"])  # as the DAG builder makes it
    calls = []
    guard = dataclasses.replace(guard, then=calls.append)  # the loopback guard runs first
    config = dict(task.kwargs["config"])
    operator = SimpleNamespace(task_id="train", config=config)
    guard({"task": operator})  # within them: nothing happens
    config["ResourceConfig"] = {**config["ResourceConfig"], "InstanceType": "ml.p5.48xlarge"}
    with pytest.raises(AirflowFailException) as caught:
        guard({"task": operator})
    assert "task train: guardrail instance_types: instance type 'ml.p5.48xlarge'" in str(caught.value)
    assert "Refused before any AWS call" in str(caught.value)
    assert len(calls) == 2


def test_a_run_time_list_is_checked_by_its_items_step_before_any_job(compile_ok, env):
    from airflow.sdk.exceptions import AirflowFailException

    from sagemaker_pipelines.airflow.mapping import build_mapped_values, builder_op_kwargs

    text = training(
        "    for_each: ${params.types}\n    instance_type: ${item}\n",
        head="params: {types: {type: array, default: [ml.m5.large]}}\n",
    )
    task = compile_ok(text, environment=env).task("train")
    step = builder_op_kwargs(task)  # what the <task>__items step is called with, rendered
    built = build_mapped_values(step["template"], "['ml.m5.large', 'ml.t3.medium']", step["guardrails"])
    assert [v["ResourceConfig"]["InstanceType"] for v in built] == ["ml.m5.large", "ml.t3.medium"]
    with pytest.raises(
        AirflowFailException,
        match=r"for_each element 1: guardrail instance_types: instance type 'ml\.p5\.48xlarge' is not",
    ):
        build_mapped_values(step["template"], "['ml.m5.large', 'ml.p5.48xlarge']", step["guardrails"])
    with pytest.raises(AirflowFailException, match=r"guardrail max_fan_out\.per_task: for_each: 4 elements"):
        build_mapped_values(step["template"], str(["ml.m5.large"] * 4), step["guardrails"])


def test_the_run_budget_counts_the_other_lists_of_the_run(compile_ok, env):
    from airflow.sdk.exceptions import AirflowFailException

    from sagemaker_pipelines.airflow.mapping import check_width

    spec = {"environment": "local", "guardrails": GUARDRAILS, "literal_width": 2, "others": ["b__items"]}
    ti = SimpleNamespace(xcom_pull=lambda task_ids: [[{}, {}]])  # the other step built 2
    check_width(1, spec, ti)  # 2 + 2 + 1 = 5: the limit
    with pytest.raises(AirflowFailException, match=r"this run's for_each lists have 6 elements together"):
        check_width(2, spec, ti)


def test_the_run_time_check_rebuilds_every_kinds_request_from_its_operator(local_env):
    """The task guard reads the operator's own attributes: for every kind that sends a request, they
    must rebuild it (else the check would refuse every such task, or worse, look at nothing)."""
    from sagemaker_pipelines.airflow.dag_builder import build_dag
    from sagemaker_pipelines.airflow.tasks import Guardrail
    from sagemaker_pipelines.checker import check_file
    from sagemaker_pipelines.compile.guardrails import check_task

    from .conftest import CORE_DIR

    result = check_file(CORE_DIR / "good_inputs" / "every_kind.yaml", local_env)
    assert result.ok, [p.format() for p in result.problems]
    checked = set()
    for operator in build_dag(result.compiled).tasks:
        hook = getattr(operator, "_pre_execute_hook", None)
        if not isinstance(hook, Guardrail) or hasattr(operator, "partial_kwargs"):
            continue
        breaches = check_task(hook.kind, dict(vars(operator)), local_env.guardrails, "local", rendered=True)
        assert [b for b in breaches if b.guardrail == "request"] == [], operator.task_id
        checked.add(hook.kind)
    assert {
        "training",
        "processing",
        "transform",
        "model",
        "endpoint_config",
        "automl",
        "notebook",
    } <= checked


def test_rendered_values_are_judged_whatever_they_look_like(env):
    from sagemaker_pipelines.compile.guardrails import check_request

    request = {
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": "8"},  # a rendered template
        "RoleArn": "arn:aws:iam::999999999999:role/{{ x }}",  # text from a trigger's conf, never rendered
        "Tags": [{"Key": "cost-center", "Value": "ml"}, {"Key": "owner", "Value": "me"}],
    }
    at_run_time = check_request("training", request, env.guardrails, "local", rendered=True)
    assert [b.guardrail for b in at_run_time] == ["max_instance_count", "roles"]
    at_validate = check_request("training", request, env.guardrails, "local")
    assert [b.guardrail for b in at_validate] == ["max_instance_count"]  # the template: for the run


# --- the environment file ---------------------------------------------------------------------------


def test_the_shipped_aws_environment_sets_them(aws_env):
    guardrails = aws_env.guardrails
    assert guardrails.roles == (aws_env.role_arn,)
    assert guardrails.instance_types_for("training") == ("ml.t3.*", "ml.m5.*", "ml.c5.*")
    assert "ml.t2.medium" in guardrails.instance_types_for("endpoint_config")
    assert (
        guardrails.max_runtime_for("training") == 2 * 86400 and guardrails.max_runtime_for("model") == 86400
    )
    assert guardrails.max_instance_count_for("processing") == 2
    assert (guardrails.max_fan_out_per_task, guardrails.max_fan_out_per_run) == (16, 32)


def _environment_with(tmp_path, monkeypatch, guardrails: str):
    from sagemaker_pipelines.format.environment import load_environment
    from sagemaker_pipelines.paths import CHECKOUT_ROOT

    folder = tmp_path / "environments"
    folder.mkdir()
    text = (CHECKOUT_ROOT / "environments" / "local.yaml").read_text().split("\nguardrails:")[0]
    values = (CHECKOUT_ROOT / "environments" / "local.yaml").read_text().split("\nvalues:")[1]
    (folder / "local.yaml").write_text(
        f"{text}\nguardrails:\n{textwrap.indent(guardrails, '  ')}\nvalues:{values}"
    )
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(folder))
    return lambda: load_environment("local")


def test_a_guardrails_mistake_is_the_environment_files_problem(tmp_path, monkeypatch):
    from sagemaker_pipelines.problems import PipelineInvalid

    load = _environment_with(tmp_path, monkeypatch, "max_instances: 2\ninstance_types: [p5.large]\n")
    with pytest.raises(PipelineInvalid) as raised:
        load()
    shown = {p.field: p.message for p in raised.value.problems}
    assert "unknown field 'max_instances'" in shown["guardrails.max_instances"]
    assert "guardrails.instance_types" in " ".join(shown)


def test_an_environment_whose_own_role_they_refuse_is_refused(tmp_path, monkeypatch):
    from sagemaker_pipelines.problems import PipelineInvalid

    load = _environment_with(tmp_path, monkeypatch, "roles: ['arn:aws:iam::123456789012:role/other']\n")
    with pytest.raises(PipelineInvalid) as raised:
        load()
    (problem,) = raised.value.problems
    assert problem.field == "role_arn" and problem.line > 1
    assert "role_arn is not one of the guardrails' roles" in problem.message
