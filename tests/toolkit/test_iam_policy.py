"""``iam-policy``: every call a rendered request needs is allowed, on its own resource, and little else.

What a task needs is derived here independently of the generator: from the compiled requests (the
name each one gives its resource, rendered as a run would render it) and from botocore's model of the
SageMaker API (the operation each kind sends, the ``Describe`` counterpart the operators check and wait
with, the request members that hand a role to SageMaker and those holding S3 locations). A small
evaluator of IAM's matching rules (wildcards, conditions) then asks the generated policy.
"""

from __future__ import annotations

import dataclasses
import json
import re
from fnmatch import fnmatchcase
from pathlib import Path

import botocore.session
import pytest

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.format.environment import environment_names, load_environment
from sagemaker_pipelines.project import discover
from sagemaker_pipelines.toolkit import iam_policy

from .conftest import PIPELINES

EVERY_KIND = Path(__file__).parents[1] / "core" / "good_inputs" / "every_kind.yaml"
RUN = "20210731T000000-1"  # what `{{ dag_run.run_after | ts_nodash }}-{{ ti.try_number }}` renders to
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
SNS = botocore.session.get_session().get_service_model("sns")
SQS = botocore.session.get_session().get_service_model("sqs")
S3_OPERATIONS = set(botocore.session.get_session().get_service_model("s3").operation_names)
S3_LIST_ACTIONS = {"s3:ListBucket"}  # the IAM action of ListObjects and ListObjectsV2


def render(value: str) -> str:
    return re.sub(
        r"\{\{.*?\}\}", "x", value.replace("{{ dag_run.run_after | ts_nodash }}-{{ ti.try_number }}", RUN)
    )


def allowed(policy: dict, action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """IAM's rule for Allow statements: action and resource match a pattern, every condition holds."""
    context = context or {}
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatchcase(action, a) for a in statement["Action"]):
            continue
        if not any(fnmatchcase(resource, r) for r in statement["Resource"]):
            continue
        conditions = statement.get("Condition", {})
        ok = True
        for operator, pairs in conditions.items():
            for key, wanted in pairs.items():
                wanted = wanted if isinstance(wanted, list) else [wanted]
                got = context.get(key)
                match = fnmatchcase if operator == "StringLike" else str.__eq__
                ok &= got is not None and any(match(got, w) for w in wanted)
        if ok:
            return True
    return False


def resource_type(operation: str) -> str:
    """``CreateHyperParameterTuningJob`` -> ``hyper-parameter-tuning-job``, as in SageMaker's ARNs."""
    noun = re.sub(r"^(Create|Describe|Update)", "", operation)
    return re.sub(r"(?<!^)(?=[A-Z])", "-", noun).lower()


def walk_request(shape, value, path=""):
    """(member name, botocore shape, value) of every member of a request, following botocore's model."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, item in value.items():
            member = shape.members[name]  # an unknown member would be a request_check bug
            yield name, member, item
            yield from walk_request(member, item, f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for item in value:
            yield from walk_request(shape.member, item, path)
    elif shape.type_name == "map" and isinstance(value, dict):
        for item in value.values():
            yield from walk_request(shape.value, item, path)


def needs(compiled, arn) -> list[tuple[str, str, dict]]:
    """(action, resource ARN, request context) of every call the pipeline's tasks make."""
    tasks = {t.task_id: t for t in compiled.tasks}
    wanted = []

    def name_in(task_id: str, member: str) -> str:
        value = tasks[task_id].kwargs["config"][member]
        ref = re.search(r"task_ids='([^']+)'", value)
        return name_in(ref.group(1), member) if ref else render(value)

    for task in compiled.tasks:
        operation = KINDS[task.kind].api_operation
        config = task.kwargs.get("config", {})
        if operation == "DeleteModel":  # the teardown of a model: one call on it
            model = name_in(task.task_id, "ModelName").lower()
            wanted.append(("sagemaker:DeleteModel", arn("sagemaker", f"model/{model}"), {}))
        elif operation == "CreateModelPackage":  # a version in a group, which the operator makes if missing
            group = render(task.kwargs["package_group_name"]).lower()  # the operator's own argument
            wanted += [
                ("sagemaker:CreateModelPackageGroup", arn("sagemaker", f"model-package-group/{group}"), {}),
                ("sagemaker:CreateModelPackage", arn("sagemaker", f"model-package/{group}/1"), {}),
            ]
        elif operation == "StopPipelineExecution":  # an execution's ARN, not a name: below
            pass
        elif operation and "config" not in task.kwargs:  # the name is an operator argument
            wanted += argument_needs(task, tasks, arn)
        elif operation:
            op = SAGEMAKER.operation_model(operation)
            noun = resource_type(operation)
            member = operation.removeprefix("Create") + "Name"
            assert member in op.input_shape.required_members, (operation, member)
            describe = "Describe" + operation.removeprefix("Create")
            assert describe in SAGEMAKER.operation_names
            target = arn("sagemaker", f"{noun}/{name_in(task.task_id, member).lower()}")
            wanted += [(f"sagemaker:{operation}", target, {}), (f"sagemaker:{describe}", target, {})]
            if task.kind in ONE_JOB_PER_TASK_INSTANCE:  # stopped when cancelled, tagged when used
                stop = "Stop" + operation.removeprefix("Create")
                assert stop in SAGEMAKER.operation_names
                wanted += [(f"sagemaker:{a}", target, {}) for a in (stop, "AddTags", "ListTags")]
        if operation:
            op = SAGEMAKER.operation_model(operation)
            request = {
                k: v for k, v in KINDS[task.kind].request_of(task.kwargs).items() if k != "S3Operations"
            }  # the operator's, not the API's
            for upload in config.get("S3Operations", {}).get("S3Upload", []):  # done before the request
                wanted.append(
                    ("s3:PutObject", f"arn:aws:s3:::{upload['Bucket']}/{render(upload['Key'])}", {})
                )
            for name, shape, value in walk_request(op.input_shape, request):
                if name.endswith("RoleArn") and shape.type_name == "string":
                    wanted.append(("iam:PassRole", value, {"iam:PassedToService": "sagemaker.amazonaws.com"}))
                if isinstance(value, str) and value.startswith("s3://"):
                    bucket, _, key = render(value).removeprefix("s3://").partition("/")
                    wanted += [
                        (f"s3:{a}", f"arn:aws:s3:::{bucket}/{key}", {}) for a in ("GetObject", "PutObject")
                    ]
            if task.kind == "transform":  # the operator describes the model it transformed with
                model = name_in(task.task_id, "ModelName").lower()
                wanted.append(("sagemaker:DescribeModel", arn("sagemaker", f"model/{model}"), {}))
        if task.kind == "pipeline_sensor":
            wanted += execution_needs(task, tasks, arn, ["DescribePipelineExecution"])
        elif task.kind.endswith("_sensor") and task.kind != "s3_key_sensor":
            watched = KINDS[task.kind.removesuffix("_sensor")].api_operation
            describe = "Describe" + watched.removeprefix("Create")
            assert describe in SAGEMAKER.operation_names
            value = task.kwargs.get("job_name") or task.kwargs["endpoint_name"]
            ref = re.search(r"task_ids='([^']+)'", value)
            member = watched.removeprefix("Create") + "Name"
            name = name_in(ref.group(1), member) if ref else render(value)  # automl: derived, not read
            noun = ARN_NOUNS.get(watched.removeprefix("Create"), resource_type(watched))
            wanted.append((f"sagemaker:{describe}", arn("sagemaker", f"{noun}/{name.lower()}"), {}))
        if task.kind == "stop_pipeline":
            stop = ["StopPipelineExecution", "DescribePipelineExecution"]
            wanted += execution_needs(task, tasks, arn, stop)
        if task.kind == "start_pipeline" and task.kwargs.get("wait_for_completion", True):
            wanted += execution_needs(task, tasks, arn, ["DescribePipelineExecution"])
    return wanted


# The kinds whose operators (airflow/jobs/) stop their job on cancel and tag the job a try used.
ONE_JOB_PER_TASK_INSTANCE = ("training", "tuning", "processing", "transform")
# The resource types of SageMaker's ARNs (the service authorization reference) where the operation's
# noun does not give them: AutoML jobs are automl-job, an execution lives under its pipeline.
ARN_NOUNS = {"AutoMLJob": "automl-job", "PipelineExecution": "pipeline"}
WAITED = {  # what the operator describes while it waits (the provider's waiters and status loops)
    "CreateAutoMLJob": "DescribeAutoMLJob",
    "CreateNotebookInstance": "DescribeNotebookInstance",
    "StartNotebookInstance": "DescribeNotebookInstance",
    "StopNotebookInstance": "DescribeNotebookInstance",
    "DeleteNotebookInstance": "DescribeNotebookInstance",
}


# The calls a clean-up or set-up operator (airflow/cleanup.py) makes besides its request, on resources
# named from its request's own name: "{name}", or any resource of a type ("*": those a List* call found).
CLEANUP_CALLS = {
    "CreatePipeline": [("UpdatePipeline", "pipeline/{name}")],  # the pipeline exists: updated
    "StopAutoMLJob": [("DescribeAutoMLJob", "automl-job/{name}")],  # refused: has the job ended?
    "DeleteModelPackageGroup": [  # its versions first (delete_versions, true by default)
        ("ListModelPackages", "*"),
        ("DeleteModelPackage", "model-package/{name}/1"),
    ],
    "DeleteExperiment": [  # its trials and their components first
        ("ListTrials", "*"),
        ("ListTrialComponents", "*"),
        ("DisassociateTrialComponent", "experiment-trial-component/c-1"),
        ("DisassociateTrialComponent", "experiment-trial/t-1"),
        ("DeleteTrialComponent", "experiment-trial-component/c-1"),
        ("DeleteTrial", "experiment-trial/t-1"),
    ],
}


def produced_name(tasks, value: str, member: str) -> str:
    """A name as a run renders it; one read from another task's result is what that task made: its request
    member of that name, a register task's version ``<group>/1``, an experiment task's per-try name, the
    experiment named after a tuning task's job."""
    ref = re.search(r"task_ids='([^']+)'", value)
    if not ref:
        arn = re.match(r"^arn:[^:]+:sagemaker:[^:]*:[^:]*:[^/]+/(.+)$", value)
        return render(arn.group(1) if arn else value)
    producer = tasks[ref.group(1)]
    if member in producer.kwargs.get("config", {}):
        return produced_name(tasks, producer.kwargs["config"][member], member)
    if producer.kind == "register_model":
        return render(producer.kwargs["package_group_name"]) + "/1"
    if producer.kind == "tuning":  # the experiment SageMaker makes for a tuning job: <job>-aws-tuning-job
        job = producer.kwargs["config"]["HyperParameterTuningJobName"]
        return render(job) + value.rpartition("}}")[2]
    assert producer.kind == "experiment", (producer.kind, value)
    return render(producer.kwargs["name"])


def argument_needs(task, tasks, arn) -> list[tuple[str, str, dict]]:
    """The calls of a kind that names its resource in an argument: the request the operator sends (the
    kind's own rebuild of it), the botocore member that names the resource, the describe it waits with."""
    operation = KINDS[task.kind].api_operation
    request = KINDS[task.kind].request_of(task.kwargs)
    op = SAGEMAKER.operation_model(operation)
    members = [m for m in op.input_shape.required_members if m.endswith("Name")]
    assert len(members) == 1, (operation, members)
    noun_name = members[0].removesuffix("Name")
    noun = ARN_NOUNS.get(noun_name, resource_type(noun_name))
    name = produced_name(tasks, request[members[0]], members[0]).lower()
    target = arn("sagemaker", f"{noun}/{name}")
    wanted = [(f"sagemaker:{operation}", target, {})]
    if operation in WAITED and task.kwargs.get("wait_for_completion", True):
        wanted.append((f"sagemaker:{WAITED[operation]}", target, {}))
    if request.get("Tags"):
        wanted.append(("sagemaker:AddTags", target, {}))
    extra = CLEANUP_CALLS.get(operation, [])
    if task.kwargs.get("delete_versions") is False:  # a group deleted alone
        extra = []
    for action, resource in extra:
        resource = "*" if resource == "*" else arn("sagemaker", resource.format(name=name))
        wanted.append((f"sagemaker:{action}", resource, {}))
    return wanted


def execution_needs(task, tasks, arn, operations: list[str]) -> list[tuple[str, str, dict]]:
    """Calls on a SageMaker Pipelines execution: pipeline/<name>/execution/<id>, as SageMaker makes it."""
    value = task.kwargs.get("pipeline_exec_arn") or task.kwargs["pipeline_name"]
    ref = re.search(r"task_ids='([^']+)'", value)
    pipeline = render(tasks[ref.group(1)].kwargs["pipeline_name"]) if ref else value
    if pipeline.startswith("arn:"):
        pipeline = pipeline.split(":pipeline/")[1].split("/")[0]
    target = arn("sagemaker", f"pipeline/{pipeline.lower()}/execution/a1b2c3d4e5f6")
    if task.kwargs.get("verbose", True):  # the provider lists the steps of each described execution
        operations = [*operations, "ListPipelineExecutionSteps"]
    return [(f"sagemaker:{o}", target, {}) for o in operations]


@pytest.fixture(scope="module", params=environment_names())
def compiled(request):
    environment = load_environment(request.param)
    results = [check_file(path, environment) for path in [*discover(PIPELINES), EVERY_KIND]]
    assert all(r.ok for r in results), [p for r in results for p in r.problems]
    pipelines = [mapped_only(r.compiled) for r in results]
    return environment, pipelines, iam_policy.policy(pipelines, environment)


def mapped_only(pipeline):
    """The pipeline without the lifecycle kinds whose statements are not generated yet (refused below)."""
    tasks = [t for t in pipeline.tasks if KINDS[t.kind].calls is not None]
    return dataclasses.replace(pipeline, tasks=tasks)


def test_a_sagemaker_kind_without_generated_statements_is_refused_not_left_out():
    environment = load_environment("aws")
    every_kind = check_file(EVERY_KIND, environment).compiled
    with pytest.raises(iam_policy.UnmappedKinds, match=r"studio_notebook \(every_kind\.iris_report\)"):
        iam_policy.policy([every_kind], environment)


OPERATOR_FEATURE = Path(__file__).parents[1] / "airflow_stack" / "pipelines" / "features" / "operator_s3.yaml"


def test_the_shipped_s3_operator_classes_get_their_objects_and_deletes():
    environment = load_environment("aws")
    pipeline = check_file(OPERATOR_FEATURE, environment).compiled
    statements = {s["Sid"]: s for s in iam_policy.policy([pipeline], environment)["Statement"]}
    bucket = f"arn:aws:s3:::{environment.bucket}"
    assert statements["S3ReadWrite"]["Resource"] == [
        f"{bucket}/operator-feature/copy/note.txt*",  # copy_note's destination, the sensor's key
        f"{bucket}/operator-feature/note.txt*",  # write_note's object, copy_note's source
    ]
    assert statements["S3Delete"] == {
        "Sid": "S3Delete",
        "Effect": "Allow",
        "Action": ["s3:DeleteObject"],
        "Resource": [f"{bucket}/operator-feature/note.txt*"],  # remove_original's keys, nothing wider
    }
    assert statements["S3List"]["Resource"] == [bucket]
    assert not any(sid.startswith("SageMaker") for sid in statements)


def test_an_operator_task_whose_calls_are_unknown_is_refused_by_name():
    environment = load_environment("aws")
    pipeline = check_file(OPERATOR_FEATURE, environment).compiled
    other = dataclasses.replace(pipeline.task("write_note"), operator="airflow.providers.x.SomeOperator")
    templated = dataclasses.replace(
        pipeline.task("copy_note"),
        kwargs={**pipeline.task("copy_note").kwargs, "dest_bucket_name": "{{ ds }}"},
    )
    with pytest.raises(iam_policy.UnmappedKinds) as caught:
        iam_policy.policy([dataclasses.replace(pipeline, tasks=[other, templated])], environment)
    message = str(caught.value)
    assert (
        "operator_s3.write_note (airflow.providers.x.SomeOperator: its class's calls are not mapped)"
        in message
    )
    assert (
        "operator_s3.copy_note (airflow.providers.amazon.aws.operators.s3.S3CopyObjectOperator: " in message
    )
    assert "dest_bucket_name is only known at run time" in message
    assert "the platform team that allows a class owns its permissions" in message


def _arn_maker(environment):
    account = environment.role_arn.split(":")[4]

    def arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:{environment.region}:{account}:{resource}"

    return arn


def test_every_call_a_rendered_request_needs_is_allowed(compiled):
    environment, pipelines, policy = compiled
    arn = _arn_maker(environment)
    checked = 0
    for pipeline in pipelines:
        for action, resource, context in needs(pipeline, arn):
            assert allowed(policy, action, resource, context), (pipeline.dag_id, action, resource)
            checked += 1
    assert checked > 40  # every kind of every example, not a vacuous loop


def test_every_action_is_a_real_api_operation(compiled):
    _, _, policy = compiled
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            service, _, operation = action.partition(":")
            if service == "sagemaker":
                assert operation in SAGEMAKER.operation_names, action
            elif service == "s3":
                assert operation in S3_OPERATIONS or action in S3_LIST_ACTIONS, action
            elif service == "sns":  # notify: an SNS notifier publishes to its topic
                assert operation in SNS.operation_names, action
            elif service == "sqs":  # a watcher schedule: the triggerer reads and deletes its messages
                assert operation in SQS.operation_names, action
            else:
                assert action == "iam:PassRole", action


def test_least_privilege(compiled):
    environment, _, policy = compiled
    arn = _arn_maker(environment)
    for statement in policy["Statement"]:
        assert "*" not in statement["Action"] and all(":*" not in a for a in statement["Action"])
        if "*" in statement["Resource"]:  # List* calls, which authorise on no resource type, alone
            assert statement["Resource"] == ["*"]
            assert all(a.startswith("sagemaker:List") for a in statement["Action"]), statement
    # Another job's name, another action, another bucket, another role, another service: all denied.
    assert not allowed(policy, "sagemaker:CreateTrainingJob", arn("sagemaker", "training-job/someone-else-1"))
    assert not allowed(policy, "sagemaker:DeleteModel", arn("sagemaker", "model/train-iris-1"))
    assert not allowed(policy, "s3:GetObject", "arn:aws:s3:::another-bucket/iris/results/x")
    assert not allowed(policy, "s3:DeleteObject", f"arn:aws:s3:::{environment.bucket}/iris/results/x")
    role = environment.role_arn
    assert allowed(policy, "iam:PassRole", role, {"iam:PassedToService": "sagemaker.amazonaws.com"})
    assert not allowed(policy, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allowed(policy, "iam:PassRole", role.replace(":role/", ":role/admin-"), {})


def test_cli_prints_the_policy_for_one_environment(run_cli):
    status, out, _ = run_cli("iam-policy", "--env", "aws")
    assert status == 0
    document = json.loads(out)
    assert document["Version"] == "2012-10-17"
    assert any(
        "arn:aws:iam::559345414282:role/SageMakerExecutionRole" in s["Resource"]
        for s in document["Statement"]
    )


def test_sns_notifications_may_publish_to_their_topic_only():
    from sagemaker_pipelines.checker import check_text

    text = "start_date: 2024-01-01\nnotify: {on_failure: [team]}\ntasks:\n"
    text += "  prep: {kind: python, callable: 'include/iris_data.py:prepare_iris',"
    text += " notify: {on_retry: [team]}}\n"
    environment = load_environment("aws")
    result = check_text(text, PIPELINES / "notified.yaml", environment)
    assert result.problems == []
    policy = iam_policy.policy([result.compiled], environment)
    topic = environment.notifiers["team"]["topic_arn"]
    assert policy["Statement"][-1] == {
        "Sid": "SnsNotify",
        "Effect": "Allow",
        "Action": ["sns:Publish"],
        "Resource": [topic],
    }
    assert allowed(policy, "sns:Publish", topic, {})
    assert not allowed(policy, "sns:Publish", topic + "-other", {})


def test_a_watcher_schedule_may_read_and_delete_messages_of_its_queue_only():
    environment = load_environment("aws")
    result = check_file(PIPELINES / "batch_inference_on_upload.yaml", environment)
    assert result.problems == []
    policy = iam_policy.policy([result.compiled], environment)
    url = environment.lookup("s3_events_queue")
    account, name = url.split("/")[-2:]
    queue = f"arn:aws:sqs:{environment.region}:{account}:{name}"
    # What the Amazon provider's SqsSensorTrigger sends: ReceiveMessage, then DeleteMessageBatch.
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage"):
        assert allowed(policy, action, queue, {})
        assert not allowed(policy, action, queue + "-other", {})
    assert not allowed(policy, "sqs:SendMessage", queue, {})


GUARDED = """\
start_date: 2024-01-01
role_arn: {role}
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters: {{k: 3, sample_size: 100, predictor_type: classifier}}
    inputs: {{train: "s3://{read}/iris/train.csv"}}
    output: s3://{write}/iris/model/
"""


def _guarded_policy(role: str, read: str, write: str):
    """The policy of a pipeline compiled without guardrails, for the aws environment with these."""
    from sagemaker_pipelines.checker import check_text
    from sagemaker_pipelines.format.guardrails import read_guardrails

    aws = load_environment("aws")
    text = GUARDED.format(role=role, read=read, write=write)
    compiled = check_text(
        text, PIPELINES / "guarded.yaml", dataclasses.replace(aws, guardrails=None)
    ).compiled
    guardrails = {"roles": [aws.role_arn], "buckets": {"read": ["public-*"], "write": ["team-ml"]}}
    return iam_policy.policy([compiled], dataclasses.replace(aws, guardrails=read_guardrails(guardrails)))


def test_no_pass_role_on_a_role_outside_the_guardrails():
    with pytest.raises(iam_policy.ForbiddenByGuardrails) as caught:
        _guarded_policy("arn:aws:iam::111111111111:role/admin", "public-data", "team-ml")
    assert "no iam:PassRole is granted on roles outside the guardrails of environment 'aws'" in str(
        caught.value
    )
    assert "arn:aws:iam::111111111111:role/admin" in str(caught.value)


def test_no_s3_access_outside_the_guardrails_buckets():
    with pytest.raises(iam_policy.ForbiddenByGuardrails, match=r"allow: elsewhere \(read\)"):
        _guarded_policy(load_environment("aws").role_arn, "elsewhere", "team-ml")
    # an output in a bucket they allow reading only (validate refuses it): still no s3:PutObject there
    policy = _guarded_policy(load_environment("aws").role_arn, "public-data", "public-data")
    assert not allowed(policy, "s3:PutObject", "arn:aws:s3:::public-data/iris/model/x/model.tar.gz")


def test_a_bucket_the_guardrails_allow_reading_only_gets_no_put_object():
    role = load_environment("aws").role_arn
    policy = _guarded_policy(role, "public-data", "team-ml")
    assert allowed(policy, "s3:GetObject", "arn:aws:s3:::public-data/iris/train.csv")
    assert not allowed(policy, "s3:PutObject", "arn:aws:s3:::public-data/iris/train.csv")
    assert allowed(policy, "s3:PutObject", "arn:aws:s3:::team-ml/iris/model/x/model.tar.gz")
    assert allowed(policy, "iam:PassRole", role, {"iam:PassedToService": "sagemaker.amazonaws.com"})
