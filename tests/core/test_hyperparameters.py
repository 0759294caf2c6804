"""The built-in algorithms' hyperparameters are checked by validate (``compile/hyperparameters.py``) from the
table the SageMaker SDK v2 publishes: names, required names, types, bounds and allowed values, each a
problem at its key or value; what the API sends as a string is judged as the string it becomes; values
known only at run time are left alone, a lone ``${params.x}`` is judged by its default."""

from __future__ import annotations

import pytest

from sagemaker_pipelines.compile import hyperparameters as hp
from sagemaker_pipelines.compile import images

KNN = """\
start_date: 2024-01-01
params:
  k: {{type: integer, default: {default}}}
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters:
{hyperparameters}
    inputs:
      train: s3://my-bucket/iris/train.csv
"""
VALID = {"k": "${params.k}", "sample_size": 150, "predictor_type": "classifier", "feature_dim": 4}


def _knn(default: int = 3, **values: object) -> str:
    merged = {**VALID, **values}
    lines = "\n".join(f"      {name}: {_yaml(value)}" for name, value in merged.items() if value is not None)
    return KNN.format(default=default, hyperparameters=lines)


def _yaml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    return str(value).lower() if isinstance(value, bool) else str(value)


def _found(result) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in result.problems]


def test_every_algorithm_of_the_image_table_is_checked_or_says_why_not():
    checked, skipped = set(hp.ALGORITHMS), set(hp.NOT_CHECKED)
    assert checked | skipped == set(images.ALGORITHMS), "a new algorithm: generate its data or say why not"
    assert not checked & skipped
    assert all(len(reason) > 20 for reason in hp.NOT_CHECKED.values())
    assert {"knn", "kmeans", "linear-learner", "pca", "randomcutforest"} <= checked


def test_a_valid_knn_task_compiles_with_its_hyperparameters_as_strings(compile_ok):
    compiled = compile_ok(_knn(sample_size="150"))
    sent = compiled.task("train").kwargs["config"]["HyperParameters"]
    assert sent == {
        "k": "{{ params.k }}",
        "sample_size": "150",
        "predictor_type": "classifier",
        "feature_dim": "4",
    }


@pytest.mark.parametrize(
    ("values", "field", "message", "hint"),
    [
        (
            {"predictor_type": "classify"},
            "predictor_type",
            "expected one of: classifier, regressor",
            "'classifier'",
        ),
        ({"feature_dim": None, "featur_dim": 4}, "featur_dim", "knn has no hyperparameter", "'feature_dim'"),
        ({"sample_size": 0}, "sample_size", "sample_size = 0: expected an integer of at least 1", ""),
        ({"sample_size": "many"}, "sample_size", "expected an integer", ""),
        ({"feature_dim": 2.5}, "feature_dim", "expected an integer greater than 0", ""),
        ({"index_metric": "l2"}, "index_metric", "one of: COSINE, INNER_PRODUCT, L2", "'L2'"),
    ],
)
def test_each_mistake_is_a_problem_at_its_key_or_value(check, values, field, message, hint):
    result = check(_knn(**values))
    assert [(p.field, p.code) for p in result.problems] == [
        (f"tasks.train.hyperparameters.{field}", "hyperparameter")
    ]
    problem = result.problems[0]
    assert message in problem.message and hint in problem.hint
    line = 9 + list({**VALID, **values}).index(field) - (1 if values.get("feature_dim", 0) is None else 0)
    assert problem.line == line


def test_a_missing_required_name_is_a_problem_at_the_mapping(check):
    result = check(_knn(sample_size=None, predictor_type=None))
    assert _found(result) == [
        ("tasks.train.hyperparameters", "knn needs the hyperparameters sample_size, predictor_type")
    ]
    assert (result.problems[0].line, result.problems[0].column) == (8, 5)
    assert "predictor_type: one of: classifier, regressor" in result.problems[0].hint


@pytest.mark.parametrize(
    ("spec", "good", "bad"),
    [
        (("knn", "k"), [3, "3", " 12 ", "+4"], [0, "0", 2.5, "2.5", True, "three", "0x10"]),
        (("linear-learner", "learning_rate"), [0.1, "1e-3", 2, ".5"], [0, "-1", "nan", "inf", False, "fast"]),
        (("pca", "subtract_mean"), [True, False, "true", "False"], ["yes", 1, "0"]),
        (("knn", "predictor_type"), ["classifier", "regressor"], ["Classifier", "classify", 1]),
        (("object2vec", "comparator_list"), ["hadamard", "hadamard, abs_diff"], ["sum", "hadamard,sum"]),
    ],
)
def test_a_value_is_judged_by_the_string_the_api_receives(spec, good, bad):
    declared = hp.ALGORITHMS[spec[0]]["hyperparameters"][spec[1]]
    assert [v for v in good if hp.value_problem(declared, v) is not None] == []
    assert [v for v in bad if hp.value_problem(declared, v) is None] == []


def test_a_run_parameter_is_judged_by_its_default_and_run_time_values_not_at_all(check):
    assert check(_knn(default=5)).ok
    result = check(_knn(default=0))
    assert _found(result) == [
        (
            "tasks.train.hyperparameters.k",
            "k = ${params.k}, whose default is 0: expected an integer of at least 1",
        )
    ]
    mapped = _knn(k="${item}").replace("    algorithm: knn", "    algorithm: knn\n    for_each: [3, 5]")
    assert check(mapped).ok


def test_tuning_checks_static_names_range_names_and_range_values(check):
    text = """\
    start_date: 2024-01-01
    tasks:
      tune:
        kind: tuning
        algorithm: knn
        hyperparameters: {{predictor_type: classifier, sample_size: 150, feature_dim: 4, {static}}}
        ranges:
          k: {{type: integer, min: {low}, max: 9}}
          {extra}
        objective: {{metric: "test:accuracy", type: Maximize}}
        inputs: {{train: s3://my-bucket/iris/train.csv}}
    """
    assert check(text.format(static="index_type: faiss.Flat", low=1, extra="")).ok  # k: required, tuned
    result = check(
        text.format(
            static="index_typ: faiss.Flat",
            low=0,
            extra="predictor_type: {type: continuous, min: 0, max: 1}",
        )
    )
    assert sorted(_found(result)) == [
        ("tasks.tune.hyperparameters.index_typ", "knn has no hyperparameter 'index_typ'"),
        ("tasks.tune.ranges.k.min", "k = 0: expected an integer of at least 1"),
        (
            "tasks.tune.ranges.predictor_type.type",
            "predictor_type takes one of: classifier, regressor: a continuous range cannot tune it",
        ),
    ]


def test_script_mode_images_and_unchecked_algorithms_take_any_name(check):
    script = """\
    start_date: 2024-01-01
    tasks:
      train:
        kind: training
        {how}
        hyperparameters: {{anything: 1, goes: "x"}}
        inputs: {{train: s3://my-bucket/iris/train.csv}}
    """
    assert check(script.format(how="algorithm: xgboost")).ok
    assert check(script.format(how="image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1")).ok


def test_hyperparameter_problems_are_reported_with_the_schemas(check):
    """A file the schema refuses still gets its hyperparameter problems: every problem at once."""
    result = check(_knn(predictor_type="classify") + "    instance_count: 0\n")
    fields = {p.field for p in result.problems}
    assert {"tasks.train.instance_count", "tasks.train.hyperparameters.predictor_type"} <= fields


def test_required_names_set_through_config_are_not_asked_for(compile_ok):
    text = _knn(sample_size=None, predictor_type=None).replace(
        "    inputs:",
        '    config: {HyperParameters: {sample_size: "150", predictor_type: classifier}}\n    inputs:',
    )
    sent = compile_ok(text).task("train").kwargs["config"]["HyperParameters"]
    assert sent["sample_size"] == "150" and sent["k"] == "{{ params.k }}"
