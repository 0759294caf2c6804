"""What a task kind is: one spec that the schema, compile, IAM, the graph, the sensors and the emulator read.

A kind's spec stands in the module of its family (``jobs.py``, ``hosting.py``, ...), beside its compile
function, in that module's ``SPECS``; its fields as a user writes them are one schema fragment,
``schemas/kinds/<kind>.json``. Everything else is derived: the schema's task branches and ``kind`` enum
(``toolkit/generators/task_schema.py``), the least-privilege IAM statements (``toolkit/iam_policy``) from
``calls`` and ``job``, the graph's colour from ``graph``, the exactly-once job operators' describe and
stop calls, the sensors' job names and the emulator's Stop* handlers from ``job``. ``docs/adding-a-kind.md``
walks through one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagemaker_pipelines.compile.kinds.context import TaskContext
    from sagemaker_pipelines.compile.kinds.outputs import Output

# The provider's modules and ours that the specs name their operators from.
SAGEMAKER_OPERATORS = "airflow.providers.amazon.aws.operators.sagemaker."
SAGEMAKER_SENSORS = "airflow.providers.amazon.aws.sensors.sagemaker."
OUR_SENSORS = "sagemaker_pipelines.airflow.sensors."  # the provider's, with a failure's reason put back
OUR_JOB_OPERATORS = "sagemaker_pipelines.airflow.jobs.operators."  # one paid job per task instance
OUR_CLEANUPS = "sagemaker_pipelines.airflow.cleanup."  # idempotent clean-ups and set-ups the provider lacks

AWS_ARGUMENTS = ("aws_conn_id", "region_name", "verify")
CONFIG_TEMPLATED = ("aws_conn_id", "config", "region_name", "verify")  # SageMakerBaseOperator's

# The operator arguments compile sets from the environment (environments/<name>.yaml) for every kind that
# takes them, whatever the operator's default, and why: a pipeline is the same file in every environment.
ENVIRONMENT_ARGUMENTS: dict[str, str] = {
    "aws_conn_id": "The environment's `aws_conn_id`: the connection with that account's credentials.",
    "region_name": "The environment's `region`, where its bucket, role and images are.",
    "check_interval": (
        "The environment's `check_interval` (30 seconds unless it says, the operators' own): a local "
        "environment's jobs end in seconds."
    ),
    "poke_interval": (
        "The environment's `check_interval`: a sensor checks as often as a waiting operator does, where "
        "the sensors' own default is a minute."
    ),
    "waiter_delay": "The environment's `check_interval`, as for every waiting operator.",
    "deferrable": (
        "The environment's `deferrable`, when it sets one: only a deployment with a triggerer can defer."
    ),
    "print_log": (
        "The environment's `print_log`, else on unless the environment is local: the local endpoint writes "
        "job logs to files, not to CloudWatch."
    ),
    "retry_delay": (
        "The environment's `retry_delay`, when it sets one, over the pipeline's and the task's own: a local "
        "run retries in seconds."
    ),
    "pre_execute": (
        "The environment's guards (a task cannot set its own), checked before the operator sends anything: "
        "a local environment's tasks refuse an AWS endpoint off the machine (`endpoint: loopback-only`), "
        "and an environment's `guardrails` check every rendered request."
    ),
    "redshift_conn_id": "The environment's `warehouse.conn_id`: the warehouse that environment loads.",
    "sql_conn_id": "The environment's `warehouse.conn_id`: the warehouse that environment loads.",
    "schema": "The environment's `warehouse.schema`, when it names one.",
    **{
        name: f"The environment's `operator_defaults.{name}`, when it sets one: the platform team's choice."
        for name in (
            "max_ingestion_time",
            "max_attempts",
            "action_if_job_exists",
            "check_if_job_exists",
            "soft_fail",
        )
    },
}

# The IAM resource of a call that authorises on no resource type (List* calls): every resource.
ANY_RESOURCE = "*"

# A week: AWS sets no runtime limit on a transform job, and a wait must not end before the job does.
UNLIMITED_SECONDS = 7 * 86400


class Graph(Enum):
    """The group a kind's node is coloured by in ``graph``."""

    JOB = "job"
    HOSTING = "hosting"
    SENSOR = "sensor"
    DATA = "data"


class When(Enum):
    """A condition of a call: made only when an operator argument, true by default, holds: it waits for
    completion, it is verbose (both the provider's defaults), it deletes a group's versions first."""

    WAITING = "wait_for_completion"
    VERBOSE = "verbose"
    DELETING_VERSIONS = "delete_versions"  # a model package group's deletion deletes its versions first


@dataclass(frozen=True)
class Named:
    """Where a call finds its resource's name: a request field (in ``config``) or an operator argument.
    A name read from another task's result is that task's own: its request field ``follows`` (or, for an
    argument, the same argument) holds it, or its argument ``follows`` when that has another name than
    this one (a delete_experiment's ``experiment_name`` is an experiment task's ``name``), with
    ``follows_suffix`` appended (a version a register task made: ``<its group>/*``). ``execution``: the
    argument is a SageMaker Pipelines execution's ARN, or (start_pipeline) the pipeline's name; the ARN is
    ``pipeline/<name>/execution/*``. ``any_name``: the call may reach any resource of its type, whose
    names only the run finds out (the trials of an experiment being deleted). A name that is an ARN
    stands for its resource part."""

    field: str | None = None
    argument: str | None = None
    follows: str | None = None
    execution: bool = False
    suffix: str = ""  # appended to the name pattern (a model package's ARN: ``<group>/*``)
    follows_suffix: str = ""
    any_name: bool = False


ANY = Named(any_name=True)


@dataclass(frozen=True)
class Call:
    """One SageMaker API call an operator makes, on the ARN of the resource it names. A describe follows
    every Create*/Update* call of a request (``config``) operator: SageMakerBaseOperator checks for the
    resource and waits with it."""

    operation: str  # the API operation, e.g. CreateModel
    resource: str  # the ARN's resource type, e.g. model
    named: Named
    when: tuple[When, ...] = ()  # all must hold; none: always made
    # An operator argument that, when it is "update", makes the Create* call an Update* one (an endpoint).
    update_argument: str | None = None


@dataclass(frozen=True)
class Job:
    """A paid SageMaker job: how the exactly-once operators, their IAM statements, the sensors and the
    emulator's Stop* handlers name, describe and stop it. Operations are API names; the boto3 methods
    follow from them.

    Most jobs have a name the client chooses (``name_field`` in the create request), which a try derives
    from its try number. A SageMaker Pipelines execution has none: SageMaker answers the create call with
    its ARN, so ``find_earlier`` names the List* call that finds the executions earlier tries started (each
    try writes who started it into the execution's description), ``named`` where IAM finds the ARN's
    pipeline and ``started_on`` what the create call names instead of the job."""

    label: str  # as the task log names the job ("training job ...")
    resource: str  # its ARN's resource type
    name_field: str  # the request field holding the job's name (or, with find_earlier, its ARN)
    returned: str  # the key of the description the provider's operator returns ({"Training": {...}})
    create: str
    describe: str
    stop: str
    running: str = "InProgress"  # the status of a job that runs
    succeeded: str = "Completed"  # the status of a job whose result a try can take
    status_key: str = ""  # the describe's status field, when not <name_field without Name>Status
    arn_key: str = ""  # the describe's ARN field, when not <name_field without Name>Arn
    named: Named | None = None  # where IAM finds the job's name: default the request field name_field
    started_on: Named | None = None  # what the create call names, when not the job itself
    find_earlier: str | None = None  # the List* call on started_on that finds jobs without a chosen name

    @property
    def status_field(self) -> str:
        return self.status_key or self.name_field.removesuffix("Name") + "Status"

    @property
    def arn_field(self) -> str:
        return self.arn_key or self.name_field.removesuffix("Name") + "Arn"

    @property
    def client_named(self) -> bool:
        """Whether the client chooses the job's name (every job but a pipeline execution)."""
        return self.find_earlier is None

    def calls(self) -> tuple[Call, ...]:
        """Start (and describe, as after every Create*), stop on cancel, and tag the job a try used and read
        the tags of an earlier try's job (how a retry re-attaches: ``airflow/jobs/attempts.py``). A job
        named by an operator argument gets its describe here: only request fields get one implied."""
        named = self.named or Named(field=self.name_field)
        operations = [self.stop, "AddTags", "ListTags"]
        if named.field is None:
            operations.append(self.describe)
        started_on = self.started_on or named
        found = (Call(self.find_earlier, self.resource, started_on),) if self.find_earlier else ()
        return (
            Call(self.create, self.resource, started_on),
            *found,
            *(Call(operation, self.resource, named) for operation in operations),
        )

    def watch_call(self, argument: str = "job_name") -> Call:
        """A sensor's call: it polls the describe of the job named by its argument."""
        return Call(self.describe, self.resource, Named(argument=argument, follows=self.name_field))

    def name_holder(self, config: dict[str, Any]) -> dict[str, Any]:
        """The mapping that holds the job name: a transform operator's config may nest it in ``Transform``."""
        nested = config.get("Transform")
        return nested if isinstance(nested, dict) and self.name_field in nested else config

    def describe_job(self, client: Any, name: str) -> dict[str, Any]:
        return getattr(client, _method(self.describe))(**{self.name_field: name})

    def status_of(self, client: Any, name: str) -> str:
        return self.describe_job(client, name)[self.status_field]

    def stop_job(self, client: Any, name: str) -> None:
        getattr(client, _method(self.stop))(**{self.name_field: name})

    def create_method(self) -> str:
        return _method(self.create)

    def max_runtime(self, config: dict[str, Any]) -> int:
        """How long the job may run, in seconds, as its own request says (a tuning job: its training jobs
        one batch of parallel jobs after the other)."""
        holder = self.name_holder(config)
        if "TrainingJobDefinition" in holder or "TrainingJobDefinitions" in holder:
            definition = (
                holder.get("TrainingJobDefinition") or (holder.get("TrainingJobDefinitions") or [{}])[0]
            )
            each = _seconds((definition.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds"))
            limits = (holder.get("HyperParameterTuningJobConfig") or {}).get("ResourceLimits") or {}
            jobs = int(limits.get("MaxNumberOfTrainingJobs") or 1)
            parallel = max(1, int(limits.get("MaxParallelTrainingJobs") or 1))
            return each * math.ceil(jobs / parallel) if each else UNLIMITED_SECONDS
        return (
            _seconds((holder.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")) or UNLIMITED_SECONDS
        )


def _method(operation: str) -> str:
    """``CreateHyperParameterTuningJob`` -> ``create_hyper_parameter_tuning_job`` (boto3's own mapping)."""
    from botocore import xform_name

    return xform_name(operation)


def _seconds(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):  # an unrendered template: no limit known
        return 0


def request_from(**fields: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The request an operator sends, each field one of its arguments (``EndpointName="endpoint_name"``):
    what a Kind's ``request`` rebuilds for the offline botocore check when the operator has no ``config``."""

    def request(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {name: kwargs[argument] for name, argument in fields.items() if argument in kwargs}

    return request


@dataclass(frozen=True)
class Kind:
    """One task kind. ``calls`` is None where no least-privilege statements can be generated (``iam-policy``
    then refuses the pipeline rather than print a policy that misses them); () where it calls no SageMaker
    API of its own. ``job``'s calls are added to ``calls``."""

    operator: str  # dotted path of the Airflow operator class
    compile: Callable[[TaskContext], dict[str, Any]]  # task fields -> operator keyword arguments
    graph: Graph
    calls: tuple[Call, ...] | None
    api_operation: str | None = None  # SageMaker API request to check offline against botocore
    references: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> kinds it may name
    one_of: tuple[tuple[str, ...], ...] = ()  # groups of fields of which exactly one must be given
    outputs: dict[str, Output] = field(default_factory=dict)  # what ${tasks.<id>.<output>} may name
    templated: tuple[str, ...] = ()  # the operator's template_fields: arguments rendered at run time
    # The API request the operator sends, rebuilt from its arguments for the botocore check (default:
    # the ``config`` argument, which SageMakerBaseOperator subclasses send as it is).
    request: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # The class a task names itself (kind: operator, from the environment's allowed_operators).
    operator_of: Callable[[TaskContext], str] | None = None
    job: Job | None = None  # the paid job it starts, re-attached on retry and stopped on cancel
    fan_out: bool = True  # whether the schema offers for_each
    # Where an operator argument may carry tags (AddTags on its resource): the argument, then keys in it.
    tags_at: tuple[str, ...] = ()
    role_arguments: tuple[str, ...] = ()  # operator arguments that hand a role to SageMaker
    # Operator arguments a task that leaves them out gets with another value than the operator's own
    # default, each with the reason as a sentence: a DAG author expects a kind to mean the operator it
    # compiles to. The arguments every kind takes from the environment are ENVIRONMENT_ARGUMENTS'.
    differs: dict[str, str] = field(default_factory=dict)
    # The S3 locations its request reads and writes (compile/kinds/lineage.py): render and lineage.
    lineage: Callable[[dict[str, Any]], tuple[list[str], list[str]]] | None = None

    def request_of(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return self.request(kwargs) if self.request else kwargs["config"]

    def all_calls(self) -> tuple[Call, ...] | None:
        if self.calls is None:
            return None
        return (*(self.job.calls() if self.job else ()), *self.calls)


@dataclass(frozen=True)
class Alias:
    """A kind that becomes another kind depending on the environment (``warehouse_load``)."""

    resolve: Callable[[TaskContext], str]
    targets: tuple[str, ...]  # what it may resolve to in any environment (a DAG file pre-imports all)
    graph: Graph
