"""Assets: publish: compiles to outlets read from the request, schedule: to asset conditions, and the
built DAG has Airflow's asset objects (``Asset``, ``AssetAll``/``AssetAny``, ``AssetOrTimeSchedule``)."""

from __future__ import annotations

from sagemaker_pipelines.airflow.dag_builder import build_dag
from sagemaker_pipelines.compile.assets import asset_uri, scheduled_on

PUBLISHER = """\
start_date: 2024-01-01
schedule: SCHEDULE
tasks:
  train:
    kind: training
    algorithm: knn
    inputs: {train: "s3://my-bucket/iris/train.csv"}
    output: s3://my-bucket/models/
    publish: PUBLISH
  prep:
    kind: processing
    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/prep:1
    command: [python3, /opt/program/prep.py]
    outputs:
      train: s3://my-bucket/prep/train
      test: s3://my-bucket/prep/test/
    publish: [outputs.test]
"""


def _pipeline(publish: str = "true", schedule: str = "null") -> str:
    return PUBLISHER.replace("PUBLISH", publish).replace("SCHEDULE", schedule)


def test_publish_true_is_the_stable_prefix_the_request_writes_to(compile_ok):
    compiled = compile_ok(_pipeline())
    train = compiled.task("train")
    assert train.kwargs["config"]["OutputDataConfig"]["S3OutputPath"] == "s3://my-bucket/models/"
    assert train.kwargs["outlets"] == ["s3://my-bucket/models"]
    assert compiled.task("prep").kwargs["outlets"] == ["s3://my-bucket/prep/test"]


def test_publish_names_outputs_and_uris(compile_ok):
    compiled = compile_ok(_pipeline('[model_artifacts, "s3://my-bucket/latest/"]'))
    assert compiled.task("train").kwargs["outlets"] == ["s3://my-bucket/models", "s3://my-bucket/latest"]


def test_the_published_prefix_is_the_one_config_overrides_send(compile_ok):
    text = _pipeline().replace(
        "    publish: true\n",
        "    publish: true\n    config: {OutputDataConfig: {S3OutputPath: s3://my-bucket/other}}\n",
    )
    assert compile_ok(text).task("train").kwargs["outlets"] == ["s3://my-bucket/other"]


def test_publish_does_not_change_the_request(compile_ok):
    with_assets = compile_ok(_pipeline())
    without = compile_ok(_pipeline("false"))
    assert "outlets" not in without.task("train").kwargs
    assert with_assets.task("train").kwargs["config"] == without.task("train").kwargs["config"]


def test_a_publish_naming_no_output_says_which_there_are(check):
    (problem,) = check(_pipeline("[output]")).problems
    assert (problem.field, problem.line, problem.column) == ("tasks.train.publish", 9, 14)
    assert (
        "'output' is neither an output of this training task (model_artifacts) nor an asset URI"
        in problem.message
    )
    text = _pipeline().replace("[outputs.test]", "[outputs.nope]")
    (problem,) = check(text).problems
    assert "(outputs.train, outputs.test)" in problem.message and problem.field == "tasks.prep.publish"


def test_a_run_time_location_cannot_be_published(check):
    text = _pipeline().replace("output: s3://my-bucket/models/", "output: s3://my-bucket/models/{{ ds }}/")
    (problem,) = check(text).problems
    assert (problem.field, problem.line, problem.code) == ("tasks.train.publish", 9, "publish")
    assert "known only at run time" in problem.message


def test_schedules_on_assets_build_airflow_conditions(compile_ok):
    from airflow.sdk import Asset, AssetAll, AssetAny

    compiled = compile_ok(
        _pipeline(schedule='{any: ["s3://my-bucket/a/", {all: [s3://my-bucket/b, s3://my-bucket/c]}]}')
    )
    assert compiled.dag["schedule"] == {
        "any": ["s3://my-bucket/a", {"all": ["s3://my-bucket/b", "s3://my-bucket/c"]}]
    }
    dag = build_dag(compiled)
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)
    first, nested = condition.objects
    assert first == Asset("s3://my-bucket/a") and isinstance(nested, AssetAll)
    assert [a.uri for a in nested.objects] == ["s3://my-bucket/b", "s3://my-bucket/c"]
    assert [a.uri for a in dag.get_task("train").outlets] == ["s3://my-bucket/models"]
    assert all(isinstance(a, Asset) for a in dag.get_task("train").outlets)


def test_a_list_schedule_means_all_of_them(compile_ok):
    from airflow.sdk import AssetAll

    dag = build_dag(compile_ok(_pipeline(schedule="[s3://my-bucket/a, s3://my-bucket/b]")))
    assert isinstance(dag.timetable.asset_condition, AssetAll)
    assert [a.uri for a in dag.timetable.asset_condition.objects] == ["s3://my-bucket/a", "s3://my-bucket/b"]


def test_cron_and_assets_is_an_asset_or_time_schedule(compile_ok):
    from airflow.sdk import AssetOrTimeSchedule

    dag = build_dag(compile_ok(_pipeline(schedule='{cron: "0 6 * * *", assets: [s3://my-bucket/a]}')))
    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    assert dag.timetable.timetable.expression == "0 6 * * *"
    assert [a.uri for a in dag.timetable.asset_condition.objects] == ["s3://my-bucket/a"]


def test_a_bad_cron_next_to_assets_is_located(check):
    (problem,) = check(_pipeline(schedule='{cron: "0 25 * * *", assets: [s3://my-bucket/a]}')).problems
    assert problem.field == "schedule.cron" and "not a valid cron expression" in problem.message


def test_asset_uris_are_spelled_one_way():
    assert asset_uri(" s3://b/p/ ") == "s3://b/p"
    assert scheduled_on({"cron": "@daily", "assets": {"any": ["s3://b/p/", ["s3://b/q"]]}}) == [
        "s3://b/p",
        "s3://b/q",
    ]
    assert scheduled_on("@daily") == [] and scheduled_on(None) == []
