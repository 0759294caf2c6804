"""The contract between the job names the compiler writes and the names a retry looks for.

A try starts its job under the name the compiler templated (``...-<run time>-<try>``); a later try of the
same task instance describes the names earlier tries rendered, newest first (``airflow/jobs/attempts.py``).
Rendered here by Airflow's own template environment, as a task runner renders them.
"""

from __future__ import annotations

import math

from sagemaker_pipelines.airflow.jobs import kinds
from sagemaker_pipelines.airflow.jobs.attempts import LOOKBACK, earlier_names
from tests.templating import run_context

from .conftest import GOOD_PIPELINE

MAPPED = GOOD_PIPELINE.replace("      k: 3\n", "      k: ${item}\n") + "    for_each: [3, 5]\n"
TUNING = """\
start_date: 2024-01-01
tasks:
  tune:
    kind: tuning
    name: tune-iris
    algorithm: knn
    hyperparameters: {feature_dim: 4, predictor_type: classifier, sample_size: 10}
    inputs: {train: s3://my-bucket/iris/train.csv}
    objective: {metric: "test:accuracy", type: Maximize}
    ranges: {k: {type: integer, min: 1, max: 9}}
    max_jobs: 6
    max_parallel: 2
    max_runtime: 1h
"""


def rendered(jinja, template: str, try_number: int) -> str:
    import datetime as dt

    context = run_context(dt.datetime(2024, 1, 5, 6, 7, 8, tzinfo=dt.UTC), try_number)
    return jinja.from_string(template).render(**context)


def test_a_retry_looks_for_the_names_earlier_tries_rendered(check, jinja):
    template = check(GOOD_PIPELINE).compiled.task("train").kwargs["config"]["TrainingJobName"]
    third = rendered(jinja, template, 3)
    assert earlier_names(third, 3) == [rendered(jinja, template, 2), rendered(jinja, template, 1)]
    assert earlier_names(rendered(jinja, template, 1), 1) == []  # a first try has no earlier one


def test_each_map_index_looks_only_for_its_own_jobs(check, jinja):
    task = check(MAPPED).compiled.task("train")
    names = [config["TrainingJobName"] for config in task.mapped["values"]]
    assert names[0] != names[1]
    earlier = earlier_names(rendered(jinja, names[1], 2), 2)
    assert earlier == [rendered(jinja, names[1], 1)]
    assert rendered(jinja, names[0], 1) not in earlier


def test_names_stay_within_sagemakers_limits_for_every_try(check, jinja):
    template = check(TUNING).compiled.task("tune").kwargs["config"]["HyperParameterTuningJobName"]
    late = rendered(jinja, template, 100)
    assert len(late) <= 32
    assert all(len(name) <= 32 for name in earlier_names(late, 100))


def test_a_name_written_whole_is_never_taken_for_another_trys():
    assert earlier_names("my-fixed-job-name", 2) == []
    assert earlier_names("my-job-20240105T060708-7", 2) == []  # not this try's number: not ours


def test_a_task_cleared_many_times_describes_a_bounded_number_of_names():
    names = earlier_names("job-20240105T060708-500", 500)
    assert len(names) == LOOKBACK and names[0] == "job-20240105T060708-499"


def test_a_wait_lasts_as_long_as_the_job_may_run(check):
    config = check(GOOD_PIPELINE).compiled.task("train").kwargs["config"]
    runtime = config["StoppingCondition"]["MaxRuntimeInSeconds"]
    attempts = kinds.wait_attempts(kinds.TRAINING, config, 30)
    assert attempts == math.ceil((runtime + kinds.WAIT_MARGIN_SECONDS) / 30)
    assert attempts > 60  # the provider's default gave a one-day job 30 minutes
    tuning = check(TUNING).compiled.task("tune").kwargs["config"]
    assert kinds.TUNING.max_runtime(tuning) == 3600 * 3  # six jobs, two at a time, an hour each
    assert kinds.TRANSFORM.max_runtime({"TransformJobName": "t"}) == kinds.UNLIMITED_SECONDS
