"""for_each: what a mapped task compiles to, the job names of its elements, the run-time step that
builds the requests of a run-time list, and the DAG dag-factory builds from it (compile/fan_out.py,
airflow/mapping.py). Bad inputs are in bad_inputs/foreach_*.yaml."""

from __future__ import annotations

import pytest

from sagemaker_pipelines.airflow.dag_builder import build_dag
from sagemaker_pipelines.airflow.mapping import MappedTry, build_mapped_values, read_items
from sagemaker_pipelines.compile.compiled import CompiledPipeline
from sagemaker_pipelines.compile.fan_out import MAP_INDEX, TRY_NUMBER

TRAINING = """\
start_date: 2024-01-01
params:
  ks: {{type: array, default: [3, 5]}}
  dim: {{type: integer, default: 4}}
tasks:
  train:
    kind: training
    algorithm: knn
    for_each: {for_each}
    {name}
    hyperparameters:
      {{k: "{k}", feature_dim: "${{params.dim}}", predictor_type: classifier, sample_size: 150}}
    inputs:
      train: s3://my-bucket/iris/train.csv
"""


def training(for_each: str = "[3, 5, 7]", k: str = "${item}", name: str = "") -> str:
    return TRAINING.format(for_each=for_each, k=k, name=f"name: {name}" if name else "")


def rendered_name(template: str, index: int = 0) -> str:
    """A job name as it is when the task runs: a 15-character timestamp and a 3-digit try number."""
    name = template.replace("{{ dag_run.run_after | ts_nodash }}", "20240101T000000")
    return (
        name.replace("{{ ti.try_number }}", "999").replace(TRY_NUMBER, "999").replace(MAP_INDEX, str(index))
    )


def test_a_literal_list_compiles_to_one_checked_request_per_element(compile_ok):
    task = compile_ok(training()).task("train")
    assert task.mapped["argument"] == "config" and "config" not in task.kwargs
    requests = task.mapped["values"]
    assert [r["HyperParameters"]["k"] for r in requests] == ["3", "5", "7"]
    # params stay templates in each element: Airflow renders literal expand values per mapped index
    assert {r["HyperParameters"]["feature_dim"] for r in requests} == {"{{ params.dim }}"}
    names = [r["TrainingJobName"] for r in requests]
    assert [n.split("-{{")[0] for n in names] == ["t-train-0", "t-train-1", "t-train-2"]
    assert all(n.endswith("-{{ ti.try_number }}") for n in names)  # retries get their own names


def test_names_stay_within_63_characters_for_the_longest_index(compile_ok):
    longest = "x" * 40  # the longest name the schema allows
    task = compile_ok(training(for_each=str(list(range(12))), name=longest)).task("train")
    names = [rendered_name(r["TrainingJobName"]) for r in task.mapped["values"]]
    assert max(len(n) for n in names) == 63
    assert len(set(names)) == 12 and names[11].startswith(longest + "-11-")


def test_a_name_without_room_for_the_index_is_refused_not_cut(check):
    problems = check(training(for_each=str(list(range(1000))), name="x" * 40)).problems
    assert [(p.field, p.code) for p in problems] == [("tasks.train.name", "for_each")]
    assert (
        "is 40 characters; with for_each's index ('-999') and the run suffix at most 39"
        in problems[0].message
    )
    # a run-time list may have up to 1024 elements: its names keep room for '-1023'
    problems = check(training(for_each="${params.ks}", name="x" * 40)).problems
    assert [p.field for p in problems] == ["tasks.train.name"] and "at most 38 fit" in problems[0].message


def test_a_tuning_jobs_names_stay_within_its_32_characters(compile_ok):
    text = """\
    start_date: 2024-01-01
    tasks:
      tune:
        kind: tuning
        algorithm: knn
        for_each: [accuracy, accuracy, accuracy, accuracy, accuracy, accuracy,
                   accuracy, accuracy, accuracy, accuracy, accuracy]
        name: knn-tunes
        inputs: {train: "s3://my-bucket/iris/train.csv"}
        objective: {metric: "test:${item}"}
        ranges: {k: {type: integer, min: 1, max: 9}}
    """
    task = compile_ok(text).task("tune")
    names = [rendered_name(r["HyperParameterTuningJobName"]) for r in task.mapped["values"]]
    assert max(len(n) for n in names) <= 32 and len(set(names)) == 11


def test_each_literal_element_is_checked_against_the_api(check):
    text = training().replace("    inputs:", "    volume_size: ${item}\n    inputs:")
    text = text.replace("for_each: [3, 5, 7]", "for_each: [3, big]")
    problems = check(text).problems
    assert [p.code for p in problems] == ["request"], [p.format() for p in problems]
    assert "VolumeSizeInGB" in problems[0].message and "big" in problems[0].message


def test_mapping_elements_give_their_keys(compile_ok):
    text = training(
        for_each="[{k: 3, tag: small}, {k: 9, tag: large}]", k="${item.k}", name="knn-${item.tag}"
    )
    requests = compile_ok(text).task("train").mapped["values"]
    assert [r["HyperParameters"]["k"] for r in requests] == ["3", "9"]
    assert [r["TrainingJobName"].split("-{{")[0] for r in requests] == ["knn-small-0", "knn-large-1"]


def test_an_array_param_compiles_to_a_template_built_at_run_time(compile_ok):
    task = compile_ok(training(for_each="${params.ks}")).task("train")
    assert {k: v for k, v in task.mapped.items() if k != "guardrails"} == {
        "argument": "config",
        "items": "{{ params.ks }}",
    }
    assert task.mapped["guardrails"]["kind"] == "training"  # what its <task>__items step checks
    template = task.kwargs["config"]
    assert template["HyperParameters"]["k"] == "${item:text}"  # the kind makes hyperparameters text
    assert (
        template["TrainingJobName"]
        == "t-train-${map_index}-{{ dag_run.run_after | ts_nodash }}-${try_number}"
    )


def test_the_items_step_puts_each_element_in_after_rendering(compile_ok):
    template = compile_ok(training(for_each="${params.ks}")).task("train").kwargs["config"]
    built = build_mapped_values(template, "[3, '{{ conf }}']")  # the list as Jinja renders it
    assert [b["HyperParameters"]["k"] for b in built] == ["3", "{{ conf }}"]  # an element is never a template
    assert [b["TrainingJobName"].split("-{{")[0] for b in built] == ["t-train-0", "t-train-1"]
    assert all(b["TrainingJobName"].endswith(TRY_NUMBER) for b in built)  # the mapped try fills it in


def test_the_items_step_keeps_an_elements_type_where_the_kind_does(compile_ok):
    text = training(for_each="${params.ks}").replace(
        "    inputs:", "    instance_count: ${item}\n    inputs:"
    )
    template = compile_ok(text).task("train").kwargs["config"]
    assert build_mapped_values(template, [2])[0]["ResourceConfig"]["InstanceCount"] == 2


@pytest.mark.parametrize("items", ["3", "{'k': 3}", "__import__('os')"])
def test_the_items_step_refuses_what_is_not_a_list(items):
    with pytest.raises(ValueError, match="for_each"):
        read_items(items)


def test_the_mapped_try_fills_in_its_own_try_number():
    class Task:
        config = {"TrainingJobName": f"t-train-0-20240101T000000-{TRY_NUMBER}"}

    class Ti:
        try_number = 2

    guarded = []
    task = Task()
    MappedTry("config", guarded.append)({"task": task, "ti": Ti()})
    assert task.config["TrainingJobName"] == "t-train-0-20240101T000000-2" and len(guarded) == 1


def test_a_task_output_list_waits_for_its_task(compile_ok):
    text = training(for_each="${tasks.choose.result}", k="${item.k}")
    text += "  choose:\n    kind: python\n    callable: include/iris_data.py:prepare_iris\n"
    task = compile_ok(text).task("train")
    assert task.depends_on == ["choose"]
    assert task.mapped["items"] == "{{ ti.xcom_pull(task_ids='choose') }}"


def test_a_python_task_maps_its_arguments(compile_ok):
    text = """\
    start_date: 2024-01-01
    tasks:
      prep:
        kind: python
        callable: include/iris_data.py:prepare_iris
        for_each: [a, b]
        arguments: {data_url: "https://example.com/${item}.csv"}
    """
    task = compile_ok(text).task("prep")
    assert task.mapped["argument"] == "op_kwargs"
    assert [v["arguments"]["data_url"] for v in task.mapped["values"]] == [
        "https://example.com/a.csv",
        "https://example.com/b.csv",
    ]


def test_elements_that_change_two_arguments_are_refused(check):
    text = """\
    start_date: 2024-01-01
    tasks:
      prep:
        kind: python
        callable: include/iris_data.py:prepare_iris
        for_each: [a, b]
        doc: "prepares ${item}"
        arguments: {data_url: "https://example.com/${item}.csv"}
    """
    problems = check(text).problems
    assert len(problems) == 1 and problems[0].field == "tasks.prep.for_each", [p.format() for p in problems]
    assert "change 2 operator arguments (doc_md, op_kwargs)" in problems[0].message


def test_the_dag_maps_the_tasks_and_builds_run_time_lists_first(compile_ok):
    compiled = compile_ok(
        training() + training(for_each="${params.ks}").split("tasks:\n")[1].replace("train:", "train_p:", 1)
    )
    compiled = CompiledPipeline.from_dict(compiled.as_dict())  # as the compile cache hands it back
    dag = build_dag(compiled)
    literal, builder, runtime = dag.get_task("train"), dag.get_task("train_p__items"), dag.get_task("train_p")
    assert (
        type(literal).__name__ == "MappedOperator"
        and literal.operator_class.__name__ == "SageMakerTrainingOperator"
    )
    assert len(literal.expand_input.value["config"]) == 3
    assert type(builder).__name__ == "PythonOperator" and builder.python_callable is build_mapped_values
    assert builder.op_kwargs["items"] == "{{ params.ks }}"
    assert type(runtime).__name__ == "MappedOperator" and runtime.upstream_task_ids == {"train_p__items"}
    assert isinstance(runtime.partial_kwargs["pre_execute"], MappedTry)


def test_a_field_output_of_a_mapped_task_is_the_list_over_its_instances(compile_ok):
    text = (
        training()
        + """\
  models:
    kind: model
    for_each: ${tasks.train.model_artifacts}
    image: 404615174143.dkr.ecr.us-east-2.amazonaws.com/knn:1
    model_data: ${item}
"""
    )
    task = compile_ok(text).task("models")
    assert task.depends_on == ["train"]
    # a list of task ids: always a list, even of one instance; map(attribute=...) walks the keys
    assert task.mapped["items"] == (
        "{{ ti.xcom_pull(task_ids=['train']) | map(attribute='Training.ModelArtifacts.S3ModelArtifacts')"
        " | list | tojson }}"
    )
    assert read_items('["s3://b/a/model.tar.gz", "s3://b/c/model.tar.gz"]')[1] == "s3://b/c/model.tar.gz"


def test_the_compile_cache_keeps_a_mapped_task_and_refuses_a_misshapen_one(check):
    import json

    from sagemaker_pipelines.cache import entry as cache_entry

    result = check(
        training() + training(for_each="${params.ks}").split("tasks:\n")[1].replace("train:", "tp:", 1)
    )
    assert result.ok, [p.format() for p in result.problems]
    secret = b"s" * 32
    data = cache_entry.encode("k", result, {}, secret)
    back, _ = cache_entry.decode("k", data, secret)
    assert [t.mapped for t in back.compiled.tasks] == [t.mapped for t in result.compiled.tasks]

    entry = json.loads(data)["entry"]
    entry["compiled"]["tasks"][0]["mapped"] = {"argument": "config", "values": "not a list"}
    body = json.dumps(entry, separators=(",", ":")).encode()
    forged = b'{"mac":"' + cache_entry._mac(secret, "k", body) + b'","entry":' + body + b"}"
    assert cache_entry.decode("k", forged, secret) is None  # authentic but misshapen: a miss
