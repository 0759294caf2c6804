"""The clean-up and set-up kinds: what each compiles to, the least-privilege statements ``iam-policy`` makes
of its calls, and the offline check of the request its operator sends.

A clean-up names the thing a task of the same pipeline made (``endpoint: deploy``) or an existing one by
name; as a teardown it cleans up after its setups whatever happens to the run.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

import pytest

from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.compile.request_check import check_request
from sagemaker_pipelines.toolkit import iam_policy

CLEANUP_KINDS = (
    "delete_endpoint",
    "delete_endpoint_config",
    "delete_model_package",
    "delete_model_package_group",
    "delete_experiment",
    "stop_automl",
    "upsert_pipeline",
    "delete_pipeline",
)

PIPELINE = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters: {k: 3, sample_size: 150, predictor_type: classifier, feature_dim: 4}
    inputs:
      train: s3://my-bucket/iris/train.csv
  register:
    kind: register_model
    from: train
    group: cleanup-kinds
  model:
    kind: model
    from: train
  endpoint_config:
    kind: endpoint_config
    model: model
  deploy:
    kind: endpoint
    endpoint_config: endpoint_config
    endpoint_name: cleanup-kinds
  experiment:
    kind: experiment
    name: cleanup-kinds
  autopilot:
    kind: automl
    input: s3://my-bucket/churn/train.csv
    target: churned
    wait_for_completion: false
  create_pipeline:
    kind: upsert_pipeline
    pipeline_name: cleanup-kinds
    description: Retrains the churn model.
    definition: {Version: "2020-12-01", Parameters: [], Steps: []}
  delete_endpoint:
    kind: delete_endpoint
    endpoint: deploy
    teardown: true
  delete_endpoint_config:
    kind: delete_endpoint_config
    endpoint_config: endpoint_config
    depends_on: [delete_endpoint]
    teardown: true
  delete_version:
    kind: delete_model_package
    model_package: register
    teardown: true
  delete_group:
    kind: delete_model_package_group
    group: register
    depends_on: [delete_version]
    teardown: true
  delete_experiment:
    kind: delete_experiment
    experiment: experiment
    teardown: true
  stop_autopilot:
    kind: stop_automl
    job: autopilot
    teardown: true
  delete_pipeline:
    kind: delete_pipeline
    pipeline: create_pipeline
    teardown: true
"""

BY_NAME = """\
start_date: 2024-01-01
tasks:
  delete_endpoint:
    kind: delete_endpoint
    endpoint_name: old-endpoint
  delete_endpoint_config:
    kind: delete_endpoint_config
    endpoint_config_name: old-config
  delete_version:
    kind: delete_model_package
    model_package_name: arn:aws:sagemaker:us-east-1:123456789012:model-package/old-group/7
  delete_group:
    kind: delete_model_package_group
    group_name: old-group
    delete_versions: false
  delete_experiment:
    kind: delete_experiment
    experiment_name: old-experiment
  stop_autopilot:
    kind: stop_automl
    job_name: old-automl
  delete_pipeline:
    kind: delete_pipeline
    pipeline_name: old-pipeline
"""

RUN = "20240101T000000-1"  # what the per-run-and-try suffix renders to


def render(value: str) -> str:
    """A name as a run renders it: the run's suffix, and any other template as ``x``."""
    value = value.replace("{{ dag_run.run_after | ts_nodash }}-{{ ti.try_number }}", RUN)
    return re.sub(r"\{\{.*?\}\}", "x", value.replace("{{ dag_run.run_after | ts_nodash }}", RUN[:-2]))


def allowed(policy: dict, action: str, resource: str) -> bool:
    """IAM's matching of an Allow statement's actions and resources (no conditions asked for here)."""
    return any(
        any(fnmatchcase(action, a) for a in statement["Action"])
        and any(fnmatchcase(resource, r) for r in statement["Resource"])
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow" and "Condition" not in statement
    )


@pytest.fixture(scope="module")
def compiled(local_env):
    from sagemaker_pipelines.checker import check_text
    from sagemaker_pipelines.paths import CHECKOUT_ROOT

    result = check_text(PIPELINE, CHECKOUT_ROOT / "pipelines" / "cleanup_kinds.yaml", local_env)
    assert result.problems == [], [p.format() for p in result.problems]
    return result.compiled


@pytest.fixture(scope="module")
def by_name(local_env):
    from sagemaker_pipelines.checker import check_text
    from sagemaker_pipelines.paths import CHECKOUT_ROOT

    result = check_text(BY_NAME, CHECKOUT_ROOT / "pipelines" / "cleanup_by_name.yaml", local_env)
    assert result.problems == [], [p.format() for p in result.problems]
    return result.compiled


def _arn(environment, resource: str) -> str:
    account = environment.role_arn.split(":")[4]
    return f"arn:aws:sagemaker:{environment.region}:{account}:{resource}"


def test_every_cleanup_kind_is_compiled_to_the_projects_operator(compiled):
    kinds = {task.kind for task in compiled.tasks}
    assert set(CLEANUP_KINDS) <= kinds
    for task in compiled.tasks:
        if task.kind in CLEANUP_KINDS:
            assert task.operator.startswith("sagemaker_pipelines.airflow.cleanup.SageMaker"), task.operator


def test_a_cleanup_names_what_a_task_of_the_pipeline_made(compiled):
    kwargs = {task.task_id: task.kwargs for task in compiled.tasks}
    assert kwargs["delete_endpoint"]["endpoint_name"] == "cleanup-kinds"  # stable: known when compiling
    assert kwargs["delete_endpoint_config"]["endpoint_config_name"] == (
        "{{ ti.xcom_pull(task_ids='endpoint_config')['EndpointConfig']['EndpointConfigName'] }}"
    )  # named per run: read from what the endpoint_config task returned
    assert kwargs["delete_version"]["model_package_name"] == "{{ ti.xcom_pull(task_ids='register') }}"
    assert kwargs["delete_group"]["group_name"] == "cleanup-kinds"
    assert "delete_versions" not in kwargs["delete_group"]  # the operator's default (true) stands
    assert "ti.xcom_pull(task_ids='experiment')" in kwargs["delete_experiment"]["experiment_name"]
    assert kwargs["delete_pipeline"]["pipeline_name"] == "cleanup-kinds"
    # the AutoML operator returns its best candidate, not its job: the name is derived, one per run
    assert kwargs["stop_autopilot"]["job_name"] == kwargs["autopilot"]["job_name"]
    assert "try_number" not in kwargs["autopilot"]["job_name"]
    upsert = kwargs["create_pipeline"]
    assert upsert["definition"] == {"Version": "2020-12-01", "Parameters": [], "Steps": []}
    assert upsert["role_arn"] == compiled.tasks[0].kwargs["config"]["RoleArn"]


def test_teardowns_clean_up_after_the_tasks_they_name(compiled):
    tasks = {task.task_id: task for task in compiled.tasks}
    assert tasks["delete_endpoint"].teardown and tasks["delete_endpoint"].setups == ["deploy"]
    assert tasks["delete_endpoint_config"].setups == ["endpoint_config"]  # depends_on only orders it
    assert tasks["delete_group"].setups == ["register"]
    assert tasks["delete_experiment"].setups == ["experiment"]
    assert tasks["stop_autopilot"].setups == ["autopilot"]
    assert tasks["delete_pipeline"].setups == ["create_pipeline"]


def test_by_name_cleanups_send_the_name(by_name):
    kwargs = {task.task_id: task.kwargs for task in by_name.tasks}
    assert kwargs["delete_endpoint"]["endpoint_name"] == "old-endpoint"
    assert kwargs["delete_version"]["model_package_name"].endswith("model-package/old-group/7")
    assert kwargs["delete_group"]["delete_versions"] is False
    assert kwargs["stop_autopilot"]["job_name"] == "old-automl"


def test_each_request_passes_botocores_model(compiled, by_name):
    checked = set()
    for pipeline in (compiled, by_name):
        for task in pipeline.tasks:
            if task.kind in CLEANUP_KINDS:
                kind = KINDS[task.kind]
                assert check_request(kind.api_operation, kind.request_of(task.kwargs)) == [], task.task_id
                checked.add(task.kind)
    assert checked == set(CLEANUP_KINDS)


def test_a_request_botocore_refuses_is_reported_before_any_run(check):
    long = "x" * 3073  # PipelineDescription: at most 3072 characters
    result = check(PIPELINE.replace("Retrains the churn model.", long), "cleanup_kinds")
    assert any(
        "create_pipeline" in p.format() and "PipelineDescription" in p.format() for p in result.problems
    )


def test_the_policy_allows_each_cleanup_on_its_own_resource_only(compiled, local_env):
    policy = iam_policy.policy([compiled], local_env)

    def arn(resource: str) -> str:
        return _arn(local_env, resource)

    config = render("cleanup-kinds-deploy-cfg")  # not this pipeline's config name: denied below
    endpoint_config = render(compiled.task("endpoint_config").kwargs["config"]["EndpointConfigName"]).lower()
    experiment = f"cleanup-kinds-{RUN.lower()}"
    automl = render(compiled.task("autopilot").kwargs["job_name"]).lower()
    for action, resource in [
        ("DeleteEndpoint", "endpoint/cleanup-kinds"),
        ("DeleteEndpointConfig", f"endpoint-config/{endpoint_config}"),
        ("DeleteModelPackage", "model-package/cleanup-kinds/1"),
        ("DeleteModelPackage", "model-package/cleanup-kinds/12"),
        ("DeleteModelPackageGroup", "model-package-group/cleanup-kinds"),
        ("DeleteExperiment", f"experiment/{experiment}"),
        ("DeleteTrial", "experiment-trial/any-trial"),
        ("DeleteTrialComponent", "experiment-trial-component/any-component"),
        ("DisassociateTrialComponent", "experiment-trial/any-trial"),
        ("DisassociateTrialComponent", "experiment-trial-component/any-component"),
        ("StopAutoMLJob", f"automl-job/{automl}"),
        ("DescribeAutoMLJob", f"automl-job/{automl}"),
        ("CreatePipeline", "pipeline/cleanup-kinds"),
        ("UpdatePipeline", "pipeline/cleanup-kinds"),
        ("DeletePipeline", "pipeline/cleanup-kinds"),
    ]:
        assert allowed(policy, f"sagemaker:{action}", arn(resource)), (action, resource)
    for action in ("ListModelPackages", "ListTrials", "ListTrialComponents"):  # no resource-level rights
        assert allowed(policy, f"sagemaker:{action}", "*"), action
    for action, resource in [
        ("DeleteEndpoint", "endpoint/someone-elses"),
        ("DeleteEndpointConfig", f"endpoint-config/{config}"),
        ("DeleteModelPackage", "model-package/another-group/1"),
        ("DeleteModelPackageGroup", "model-package-group/another-group"),
        ("DeleteExperiment", "experiment/another-experiment"),
        ("StopAutoMLJob", "automl-job/another-job"),
        ("DeletePipeline", "pipeline/another-pipeline"),
        ("DeleteEndpoint", "*"),
    ]:
        assert not allowed(policy, f"sagemaker:{action}", arn(resource)), (action, resource)
    star = [s for s in policy["Statement"] if "*" in s["Resource"]]
    assert star and all(a.startswith("sagemaker:List") for s in star for a in s["Action"])
    assert any(
        s["Action"] == ["iam:PassRole"] and local_env.role_arn in s["Resource"] for s in policy["Statement"]
    )  # upsert_pipeline hands its role to SageMaker


def test_by_name_cleanups_get_statements_on_the_named_resources(by_name, local_env):
    policy = iam_policy.policy([by_name], local_env)

    def arn(resource: str) -> str:
        return _arn(local_env, resource)

    for action, resource in [
        ("DeleteEndpoint", "endpoint/old-endpoint"),
        ("DeleteEndpointConfig", "endpoint-config/old-config"),
        ("DeleteModelPackage", "model-package/old-group/7"),  # an ARN stands for its resource part
        ("DeleteModelPackageGroup", "model-package-group/old-group"),
        ("DeleteExperiment", "experiment/old-experiment"),
        ("StopAutoMLJob", "automl-job/old-automl"),
        ("DeletePipeline", "pipeline/old-pipeline"),
    ]:
        assert allowed(policy, f"sagemaker:{action}", arn(resource)), (action, resource)
    # delete_versions: false deletes the group alone: no listing, no version deleted
    assert not allowed(policy, "sagemaker:ListModelPackages", "*")
    assert not allowed(policy, "sagemaker:DeleteModelPackage", arn("model-package/old-group/1"))


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("delete_endpoint", "", "needs one of: endpoint, endpoint_name"),
        ("delete_endpoint", "endpoint: nowhere", "nowhere"),
        ("delete_model_package_group", "group: train", "register_model"),
        ("upsert_pipeline", "pipeline_name: p", "definition"),
    ],
)
def test_a_cleanup_that_names_nothing_or_the_wrong_task_is_refused(check, kind, fields, message):
    text = f"""\
    start_date: 2024-01-01
    tasks:
      train:
        kind: training
        algorithm: knn
        hyperparameters: {{k: 3, sample_size: 150, predictor_type: classifier, feature_dim: 4}}
        inputs:
          train: s3://my-bucket/iris/train.csv
      clean:
        kind: {kind}
        {fields}
    """
    result = check(text)
    assert result.problems, kind
    assert any(message in p.format() for p in result.problems), [p.format() for p in result.problems]


def test_upsert_pipeline_config_adds_request_fields_checked_and_granted(compile_ok, local_env):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        tasks:
          create_pipeline:
            kind: upsert_pipeline
            pipeline_name: tagged-pipeline
            definition: '{"Version": "2020-12-01", "Steps": []}'
            config:
              PipelineDisplayName: Tagged
              ParallelismConfiguration: {MaxParallelExecutionSteps: 2}
              Tags: [{Key: team, Value: ml}]
        """
    )
    task = compiled.task("create_pipeline")
    request = KINDS["upsert_pipeline"].request_of(task.kwargs)
    assert request["PipelineDefinition"] == '{"Version": "2020-12-01", "Steps": []}'  # JSON text as it is
    assert request["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert check_request("CreatePipeline", request) == []
    policy = iam_policy.policy([compiled], local_env)
    assert allowed(policy, "sagemaker:AddTags", _arn(local_env, "pipeline/tagged-pipeline"))


def test_upsert_pipeline_config_fields_botocore_does_not_know_are_refused(check):
    result = check(
        """\
        start_date: 2024-01-01
        tasks:
          create_pipeline:
            kind: upsert_pipeline
            pipeline_name: p
            definition: {Version: "2020-12-01", Steps: []}
            config: {PipelineDisplayNam: typo}
        """
    )
    assert any("PipelineDisplayNam" in p.format() for p in result.problems), result.problems
