"""A kind is one spec plus one schema fragment: these fail while either is missing or incomplete.

What the rest of the project reads from a spec (the schema's branch and ``kind`` list, the IAM calls, the
graph's colour, the job operators' describe and stop calls, the sensors' job names, the emulator's Stop*
handlers) is checked here against the spec itself and against botocore's SageMaker model, so a new kind
cannot reach ``validate`` half-declared.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import botocore.session
import pytest

from sagemaker_pipelines.compile import kinds as kinds_package
from sagemaker_pipelines.compile.kinds import ALIASES, FAMILIES, KINDS
from sagemaker_pipelines.compile.kinds.spec import Graph, Kind
from sagemaker_pipelines.toolkit.generators import task_schema

# SageMaker operators that make no SageMaker call of their own (a gate compares values).
CALLS_NOTHING = ("condition",)
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
SOURCE_SCHEMA = json.loads((task_schema.schemas_dir() / "pipeline.schema.json").read_text(encoding="utf-8"))


def test_every_family_module_of_the_package_is_registered():
    """A module that defines SPECS but is missing from FAMILIES would hold kinds nobody can use."""
    found = set()
    for info in pkgutil.iter_modules(kinds_package.__path__):
        module = importlib.import_module(f"{kinds_package.__name__}.{info.name}")
        if hasattr(module, "SPECS"):
            found.add(module)
    assert found == set(FAMILIES)


def test_no_kind_is_defined_twice():
    names = [name for family in FAMILIES for name in family.SPECS]
    assert len(names) == len(set(names)) == len(KINDS)
    assert not set(ALIASES) & set(KINDS)


def test_every_kind_has_a_fragment_and_every_fragment_a_kind():
    fragments = {path.stem for path in task_schema.fragments_dir().glob("*.json")}
    assert fragments == {*KINDS, *ALIASES}


@pytest.mark.parametrize("name", [*KINDS, *ALIASES])
def test_a_fragment_holds_only_what_is_the_kinds_own(name):
    """``kind``, the shared task fields and ``for_each`` are added from one place; a fragment that wrote
    them again would let the copies drift."""
    fragment = task_schema.fragment(name)
    shared = json.loads(task_schema.shared_path().read_text(encoding="utf-8"))
    own = set(fragment.get("properties", {}))
    assert not own & {"kind", "for_each", *shared["properties"]}
    assert {"title", "description", "examples"} <= set(fragment)
    assert "kind" not in fragment.get("required", [])


def test_the_schema_lists_exactly_the_kinds_of_the_specs():
    task = SOURCE_SCHEMA["$defs"]["task"]
    assert task["properties"]["kind"]["enum"] == [*KINDS, *ALIASES]
    assert {rule["then"]["$ref"] for rule in task["allOf"]} == {
        f"#/$defs/{name}_task" for name in [*KINDS, *ALIASES]
    }


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_spec_is_complete(name):
    kind: Kind = KINDS[name]
    module, _, cls = kind.operator.rpartition(".")
    assert module and cls[:1].isupper(), kind.operator
    assert callable(kind.compile) and len(inspect.signature(kind.compile).parameters) == 1
    assert isinstance(kind.graph, Graph)
    assert ("for_each" in SOURCE_SCHEMA["$defs"][f"{name}_task"]["properties"]) == kind.fan_out
    for field, producers in kind.references.items():
        assert set(producers) <= set(KINDS), (field, producers)
    for calls in [kind.all_calls() or ()]:
        for call in calls:
            assert call.operation in SAGEMAKER.operation_names, call.operation
            # a name from a request field or an argument, or any name of its type (found at run time)
            assert call.named.any_name or (call.named.field is None) != (call.named.argument is None), call
    if kind.api_operation is not None:
        assert kind.api_operation in SAGEMAKER.operation_names
    if cls.startswith("SageMaker") and name not in CALLS_NOTHING:
        # a SageMaker operator either has generated statements or is refused by iam-policy, never skipped
        assert kind.calls is None or kind.all_calls(), f"{name}: a SageMaker operator that calls nothing"


@pytest.mark.parametrize("name", sorted(k for k, kind in KINDS.items() if kind.job))
def test_a_job_kind_names_real_describe_and_stop_calls(name):
    """The exactly-once operators describe, stop and re-attach by these names; botocore says they exist
    and take the job's name where the spec says."""
    job = KINDS[name].job
    named_by = (job.create, job.describe, job.stop) if job.client_named else (job.describe, job.stop)
    for operation in named_by:
        shape = SAGEMAKER.operation_model(operation).input_shape
        assert job.name_field in shape.members, (operation, job.name_field)
    output = SAGEMAKER.operation_model(job.describe).output_shape.members
    assert {job.status_field, job.arn_field, job.name_field} <= set(output)
    assert KINDS[name].api_operation == job.create
    statuses = SAGEMAKER.shape_for(output[job.status_field].name).enum
    assert {job.running, job.succeeded, "Stopping", "Stopped", "Failed"} <= set(statuses)
    if not job.client_named:  # found among the List* call's summaries by its ARN and description
        listing = SAGEMAKER.operation_model(job.find_earlier)
        assert "SortOrder" in listing.input_shape.members
        (summaries,) = (m for n, m in listing.output_shape.members.items() if n.endswith("Summaries"))
        described = job.name_field.removesuffix("Arn") + "Description"
        assert {job.arn_field, described} <= set(summaries.member.members)
        assert SAGEMAKER.operation_model(job.create).input_shape.members.keys() >= {
            described,
            "ClientRequestToken",
        }


@pytest.mark.parametrize("name", sorted(k for k in KINDS if k.endswith("_sensor")))
def test_every_sensor_is_drawn_as_one(name):
    assert KINDS[name].graph is Graph.SENSOR
