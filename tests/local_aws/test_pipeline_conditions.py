"""SageMaker Pipelines Condition steps on the local endpoint: the branch the conditions choose runs and the
other does not, a condition reads a processing step's property file (JsonGet) and the execution's
parameters, and a long chain of Condition steps - the definition the Amazon provider's own system test
starts - runs, lists its outcomes, creates its experiment and trial, and can be stopped part-way."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import BUCKET, KNN_IMAGE, ROLE, SKLEARN_IMAGE, put, wait_for

EVALUATE = """
import json, os, sys
os.makedirs(sys.argv[1], exist_ok=True)
json.dump({"metrics": {"accuracy": {"value": 0.93}}}, open(os.path.join(sys.argv[1], "evaluation.json"), "w"))
"""


def _evaluate_step() -> dict:
    return {
        "Name": "Evaluate",
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
            },
            "AppSpecification": {
                "ImageUri": SKLEARN_IMAGE,
                "ContainerEntrypoint": ["python3", "-c", EVALUATE],
                "ContainerArguments": ["/opt/ml/processing/evaluation"],
            },
            "RoleArn": ROLE,
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "evaluation",
                        "S3Output": {
                            "S3Uri": {
                                "Std:Join": {
                                    "On": "/",
                                    "Values": [
                                        f"s3://{BUCKET}/cond",
                                        {"Get": "Execution.PipelineExecutionId"},
                                    ],
                                }
                            },
                            "LocalPath": "/opt/ml/processing/evaluation",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
        "PropertyFiles": [
            {
                "PropertyFileName": "EvaluationReport",
                "OutputName": "evaluation",
                "FilePath": "evaluation.json",
            }
        ],
    }


def _gate_definition(model_data: str) -> str:
    """Evaluate -> CheckAccuracy: if accuracy >= MinAccuracy (and the mode is not 'dry-run') make a model,
    else fail with a message: the shape of the SDK's own abalone example."""
    accuracy = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
            "Path": "metrics.accuracy.value",
        }
    }
    model = {
        "Name": "Model",
        "Type": "Model",
        "Arguments": {
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": KNN_IMAGE, "ModelDataUrl": model_data},
        },
    }
    fail = {
        "Name": "TooInaccurate",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": {
                "Std:Join": {"On": " ", "Values": ["accuracy below", {"Get": "Parameters.MinAccuracy"}]}
            }
        },
    }
    after_model = {
        "Name": "AfterModel",
        "Type": "Condition",
        "DependsOn": ["Model"],
        "Arguments": {
            "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
            "IfSteps": [],
            "ElseSteps": [],
        },
    }
    gate = {
        "Name": "CheckAccuracy",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": accuracy,
                    "RightValue": {"Get": "Parameters.MinAccuracy"},
                },
                {
                    "Type": "Not",
                    "Condition": {
                        "Type": "In",
                        "QueryValue": {"Get": "Parameters.Mode"},
                        "Values": ["dry-run", "test"],
                    },
                },
                {
                    "Type": "Or",
                    "Conditions": [
                        {"Type": "Equals", "LeftValue": {"Get": "Parameters.Force"}, "RightValue": True},
                        {"Type": "LessThan", "LeftValue": 0.5, "RightValue": accuracy},
                    ],
                },
            ],
            "IfSteps": [model],
            "ElseSteps": [fail],
        },
    }
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Parameters": [
                {"Name": "MinAccuracy", "Type": "Float", "DefaultValue": 0.9},
                {"Name": "Mode", "Type": "String", "DefaultValue": "full"},
                {"Name": "Force", "Type": "Boolean", "DefaultValue": False},
            ],
            "Steps": [_evaluate_step(), gate, after_model],
        }
    )


@pytest.fixture(scope="module")
def gate_pipeline(sm, s3):
    model_data = put(s3, "cond/model.tar.gz", b"not read by CreateModel")
    sm.create_pipeline(PipelineName="gate", RoleArn=ROLE, PipelineDefinition=_gate_definition(model_data))
    return "gate"


def _run(sm, pipeline: str, **parameters: str) -> tuple[dict, list[dict]]:
    arn = sm.start_pipeline_execution(
        PipelineName=pipeline, PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()]
    )["PipelineExecutionArn"]
    done = wait_for(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn),
        "PipelineExecutionStatus",
        ("Succeeded", "Failed", "Stopped"),
        120,
    )
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn, SortOrder="Ascending")
    return done, steps["PipelineExecutionSteps"]


def test_the_if_branch_runs_when_every_condition_holds(sm, gate_pipeline):
    done, steps = _run(sm, gate_pipeline, MinAccuracy="0.9")
    assert done["PipelineExecutionStatus"] == "Succeeded", done.get("FailureReason")
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [
        ("Evaluate", "Succeeded"),
        ("CheckAccuracy", "Succeeded"),
        ("Model", "Succeeded"),
        ("AfterModel", "Succeeded"),
    ]  # TooInaccurate, of the else branch, is neither run nor listed
    assert steps[1]["Metadata"] == {"Condition": {"Outcome": "True"}}
    execution_id = done["PipelineExecutionArn"].rsplit("/", 1)[-1]
    sm.describe_model(ModelName=f"pipelines-{execution_id}-Model")


def test_the_else_branch_runs_when_a_condition_fails_and_steps_needing_the_other_branch_do_not(
    sm, gate_pipeline
):
    done, steps = _run(sm, gate_pipeline, MinAccuracy="0.95")
    assert done["PipelineExecutionStatus"] == "Failed"
    assert "accuracy below 0.95" in done["FailureReason"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [
        ("Evaluate", "Succeeded"),
        ("CheckAccuracy", "Succeeded"),
        ("TooInaccurate", "Failed"),
    ]  # Model (if branch) and AfterModel (which needs it) did not run
    assert steps[1]["Metadata"] == {"Condition": {"Outcome": "False"}}


@pytest.mark.parametrize(
    ("parameters", "outcome"),
    [
        ({"Mode": "dry-run"}, "False"),  # Not(In)
        ({"MinAccuracy": "0.5", "Mode": "test"}, "False"),
        ({"MinAccuracy": "0.5", "Force": "true"}, "True"),  # a Boolean parameter's text against true
    ],
)
def test_not_in_and_or_conditions_decide_the_branch(sm, gate_pipeline, parameters, outcome):
    done, steps = _run(sm, gate_pipeline, **parameters)
    gate = next(s for s in steps if s["StepName"] == "CheckAccuracy")
    assert gate["Metadata"]["Condition"]["Outcome"] == outcome
    assert done["PipelineExecutionStatus"] == ("Succeeded" if outcome == "True" else "Failed")


def _chain(depth: int) -> str:
    """Condition steps nested ``depth`` deep, each checking 3 <= 6, in the shape the SDK writes and the
    Amazon provider's SageMaker Pipelines system test creates (with the SDK's default experiment config)."""
    step: dict = {}
    for i in range(depth):
        step = {
            "Name": f"DummyCond{i}",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [{"Type": "LessThanOrEqualTo", "LeftValue": 3.0, "RightValue": 6.0}],
                "IfSteps": [step] if step else [],
                "ElseSteps": [],
            },
        }
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Metadata": {},
            "Parameters": [],
            "PipelineExperimentConfig": {
                "ExperimentName": {"Get": "Execution.PipelineName"},
                "TrialName": {"Get": "Execution.PipelineExecutionId"},
            },
            "Steps": [step],
        }
    )


def test_a_chain_of_condition_steps_runs_each_and_records_its_experiment(sm):
    sm.create_pipeline(PipelineName="chain", RoleArn=ROLE, PipelineDefinition=_chain(3))
    done, steps = _run(sm, "chain")
    assert done["PipelineExecutionStatus"] == "Succeeded", done.get("FailureReason")
    assert [s["StepName"] for s in steps] == ["DummyCond2", "DummyCond1", "DummyCond0"]
    assert all(s["Metadata"] == {"Condition": {"Outcome": "True"}} for s in steps)
    trial = done["PipelineExecutionArn"].rsplit("/", 1)[-1]
    assert sm.describe_trial(TrialName=trial)["ExperimentName"] == "chain"
    sm.describe_experiment(ExperimentName="chain")


def test_a_long_chain_can_be_stopped_part_way(sm):
    sm.create_pipeline(PipelineName="long-chain", RoleArn=ROLE, PipelineDefinition=_chain(30))
    arn = sm.start_pipeline_execution(PipelineName="long-chain")["PipelineExecutionArn"]
    deadline = time.monotonic() + 60
    while not sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]:
        assert time.monotonic() < deadline, "no step started"
        time.sleep(0.1)
    sm.stop_pipeline_execution(PipelineExecutionArn=arn)
    done = wait_for(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn),
        "PipelineExecutionStatus",
        ("Succeeded", "Failed", "Stopped"),
        60,
    )
    assert done["PipelineExecutionStatus"] == "Stopped"
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert 1 <= len(steps) < 30
    assert steps[0]["StepStatus"] == "Stopped"
