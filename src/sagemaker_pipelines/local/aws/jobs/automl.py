"""AutoML jobs (CreateAutoMLJob, DescribeAutoMLJob, StopAutoMLJob): open-source candidates, the best one
reported.

moto has only the V2 API. Here an AutoML job reads its CSV input (a header row; every object under an
S3Prefix), works out the problem type unless given (a non-numeric target, or integers with few values:
classification; else regression), holds back a fifth of the rows (seeded) and trains up to
MaxCandidates (at most LOCAL_AWS_MAX_AUTOML_CANDIDATES, 4) scikit-learn candidates: logistic/ridge
regression, a random forest, k-nearest neighbours and gradient boosting. Each is scored on the held-out
rows with the objective metric (AutoMLJobObjective, else F1 / Accuracy / MSE by problem type), and its
model goes to ``<S3OutputPath>/<job>/candidates/<candidate>/model.tar.gz`` as a scikit-learn serving
model (``model.joblib`` and ``code/inference.py``), so the best candidate's InferenceContainers can be
deployed on this endpoint like any script-mode model. Secondary statuses go Starting -> AnalyzingData ->
FeatureEngineering -> ModelTuning -> Completed. ModelDeployConfig.EndpointName deploys the best one.
StopAutoMLJob (which moto answers for its own V2 jobs only) makes a running job Stopping, and Stopped
before its next candidate; a job that has ended cannot be stopped (ValidationException), an unknown one
is ResourceNotFound. Tags (CreateAutoMLJob's, AddTags, ListTags: ``tags.py``) are kept per job.
"""

from __future__ import annotations

import io
import os
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError

from sagemaker_pipelines.compile.images import framework_image_uri
from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.backend import (
    SETTINGS,
    Run,
    describe_error,
    launch,
    log,
    mark_observed,
    own_client,
    run_of,
    slot,
    store_for,
    utcnow,
    wait_min_duration,
)
from sagemaker_pipelines.local.aws.jobs.experiments import job_experiment
from sagemaker_pipelines.local.aws.sandbox import JobDir, JobError
from sagemaker_pipelines.local.aws.storage import join_s3, tar_directory

MAX_CANDIDATES = int(os.environ.get("LOCAL_AWS_MAX_AUTOML_CANDIDATES", "4"))
_MINIMIZE = {"MSE", "RMSE", "MAE", "LogLoss"}
_DEFAULT_OBJECTIVE = {
    "BinaryClassification": "F1",
    "MulticlassClassification": "Accuracy",
    "Regression": "MSE",
}

INFERENCE = '''"""A local AutoML candidate's serving code: CSV rows (no header) in, predictions out."""
import io
import os

import joblib
import pandas as pd


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body, content_type):
    text = body.decode() if isinstance(body, bytes) else body
    return text


def predict_fn(text, model):
    frame = pd.read_csv(io.StringIO(text), header=None, names=model["features"])
    return model["estimator"].predict(pd.get_dummies(frame).reindex(columns=model["columns"], fill_value=0))


def output_fn(prediction, accept):
    return "\\n".join(str(p) for p in prediction), "text/csv"
'''


class Tagged:
    """What moto's AddTags and ListTags need of a resource: its tags (an AutoML job is a dict here)."""

    def __init__(self, arn: str, tags: list[dict[str, str]]) -> None:
        self.arn = arn
        self.tags = tags


def _jobs(backend: Any) -> dict[str, dict[str, Any]]:
    return backend.__dict__.setdefault("local_automl_jobs", {})


def tagged(backend: Any, name: str) -> Tagged | None:
    """The tags of an AutoML job by its name (as an ARN ends, lower-cased), or None."""
    for job in _jobs(backend).values():
        if job["AutoMLJobName"].lower() == name.lower():
            return job["_tagged"]
    return None


def _read(store: Any, uri: str) -> Any:
    import pandas as pd

    frames = [
        pd.read_csv(io.BytesIO(store.get(f"s3://{uri.split('/')[2]}/{key}"))) for key, _ in store.list(uri)
    ]
    if not frames:
        raise JobError(f'ClientError: No S3 objects found under S3 URL "{uri}"')
    return pd.concat(frames, ignore_index=True)


def problem_type(target: Any) -> str:
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(target)
    whole = numeric and bool((target.dropna() % 1 == 0).all())
    if not numeric or (whole and target.nunique() <= 10):
        return "BinaryClassification" if target.nunique() == 2 else "MulticlassClassification"
    return "Regression"


def candidates(kind: str) -> list[tuple[str, Any]]:
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    if kind == "Regression":
        return [
            ("ridge", Ridge()),
            ("random-forest", RandomForestRegressor(n_estimators=50, random_state=0)),
            ("knn", KNeighborsRegressor()),
            ("gradient-boosting", GradientBoostingRegressor(random_state=0)),
        ]
    return [
        ("logistic", LogisticRegression(max_iter=1000)),
        ("random-forest", RandomForestClassifier(n_estimators=50, random_state=0)),
        ("knn", KNeighborsClassifier()),
        ("gradient-boosting", GradientBoostingClassifier(random_state=0)),
    ]


def score(metric: str, truth: Any, predicted: Any) -> float:
    from sklearn import metrics

    binary = truth.nunique() == 2 if hasattr(truth, "nunique") else False
    scorers = {
        "Accuracy": lambda: metrics.accuracy_score(truth, predicted),
        "BalancedAccuracy": lambda: metrics.balanced_accuracy_score(truth, predicted),
        "F1": lambda: metrics.f1_score(truth, predicted, average="binary" if binary else "weighted"),
        "F1macro": lambda: metrics.f1_score(truth, predicted, average="macro"),
        "Precision": lambda: metrics.precision_score(
            truth, predicted, average="binary" if binary else "weighted"
        ),
        "PrecisionMacro": lambda: metrics.precision_score(truth, predicted, average="macro"),
        "Recall": lambda: metrics.recall_score(truth, predicted, average="binary" if binary else "weighted"),
        "RecallMacro": lambda: metrics.recall_score(truth, predicted, average="macro"),
        "MSE": lambda: metrics.mean_squared_error(truth, predicted),
        "RMSE": lambda: metrics.mean_squared_error(truth, predicted) ** 0.5,
        "MAE": lambda: metrics.mean_absolute_error(truth, predicted),
        "R2": lambda: metrics.r2_score(truth, predicted),
    }
    if metric not in scorers:
        raise JobError(
            f"ClientError: objective metric {metric} is not computed locally ({', '.join(scorers)})"
        )
    return float(scorers[metric]())


class _Stopped(Exception):
    """A StopAutoMLJob call asked the job to end: it trains no further candidate."""


def _unless_stopped(run_info: Run) -> None:
    if run_info.stop.is_set():
        raise _Stopped


def run(backend: Any, job: dict[str, Any], run_info: Run) -> None:
    """The background work of one AutoML job."""
    import joblib
    import pandas as pd
    from sklearn.model_selection import train_test_split

    name = job["AutoMLJobName"]
    jd = JobDir.create(SETTINGS.state_dir, "automl", name)
    store = store_for(backend)
    try:
        with slot():
            _unless_stopped(run_info)
            job["AutoMLJobSecondaryStatus"] = "AnalyzingData"
            source = job["InputDataConfig"][0]
            data = _read(store, source["DataSource"]["S3DataSource"]["S3Uri"])
            target = source["TargetAttributeName"]
            if target not in data.columns:
                raise JobError(
                    f"ClientError: target attribute '{target}' is not a column ({', '.join(data.columns)})"
                )
            data = data.dropna(subset=[target])
            kind = job.get("ProblemType") or problem_type(data[target])
            metric = (job.get("AutoMLJobObjective") or {}).get("MetricName") or _DEFAULT_OBJECTIVE[kind]
            jd.phase(f"{len(data)} rows, target {target}: {kind}, objective {metric}")
            job["AutoMLJobSecondaryStatus"] = "FeatureEngineering"
            features = [c for c in data.columns if c != target]
            x = pd.get_dummies(data[features])
            y = data[target]
            stratify = y if kind != "Regression" and y.value_counts().min() >= 2 else None
            x_train, x_test, y_train, y_test = train_test_split(
                x, y, test_size=0.2, random_state=0, stratify=stratify
            )
            job["AutoMLJobSecondaryStatus"] = "ModelTuning"
            criteria = (job.get("AutoMLJobConfig") or {}).get("CompletionCriteria") or {}
            count = min(int(criteria.get("MaxCandidates", MAX_CANDIDATES)), MAX_CANDIDATES)
            found = []
            for index, (algorithm, estimator) in enumerate(candidates(kind)[:count], start=1):
                _unless_stopped(run_info)
                started = utcnow()
                estimator.fit(x_train, y_train)
                value = score(metric, y_test, estimator.predict(x_test))
                candidate = f"{name[:40]}-{algorithm}-{index}"
                folder = jd.root / "candidates" / candidate
                (folder / "code").mkdir(parents=True)
                joblib.dump(
                    {"estimator": estimator, "features": features, "columns": list(x.columns)},
                    folder / "model.joblib",
                )
                (folder / "code" / "inference.py").write_text(INFERENCE)
                artifact = join_s3(
                    job["OutputDataConfig"]["S3OutputPath"], name, "candidates", candidate, "model.tar.gz"
                )
                store.put(artifact, tar_directory(folder))
                jd.phase(f"candidate {candidate}: {metric} {value:.4f} -> {artifact}")
                found.append(_candidate(backend, candidate, metric, value, artifact, started))
        best = (min if metric in _MINIMIZE else max)(
            found, key=lambda c: c["FinalAutoMLJobObjectiveMetric"]["Value"]
        )
        job["Candidates"] = found
        job["ResolvedAttributes"] = {
            "AutoMLJobObjective": {"MetricName": metric},
            "ProblemType": kind,
            "CompletionCriteria": {"MaxCandidates": count, **criteria},
        }
        wait_min_duration(run_info)  # in progress until seen so: a stop asked for until then is honoured
        _unless_stopped(run_info)
        job["BestCandidate"] = best  # a stopped job names none, however far its candidates got
        if job.get("ModelDeployConfig", {}).get("EndpointName"):
            _deploy(job, best)
        job["AutoMLJobSecondaryStatus"] = "MaxCandidatesReached" if len(found) == count else "Completed"
        job["AutoMLJobStatus"] = "Completed"
    except _Stopped:
        wait_min_duration(run_info)
        job["AutoMLJobSecondaryStatus"] = job["AutoMLJobStatus"] = "Stopped"
    except Exception as exc:
        if not isinstance(exc, JobError):
            log.exception("automl %s: unexpected error", name)
        wait_min_duration(run_info)
        job["FailureReason"] = describe_error(exc)
        job["AutoMLJobSecondaryStatus"] = "Failed"
        job["AutoMLJobStatus"] = "Failed"
    job["EndTime"] = job["LastModifiedTime"] = utcnow()
    jd.phase(job["AutoMLJobStatus"] + (f": {job['FailureReason']}" if job.get("FailureReason") else ""))


def _candidate(
    backend: Any, name: str, metric: str, value: float, artifact: str, started: Any
) -> dict[str, Any]:
    now = utcnow()
    arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:training-job/{name.lower()}"
    return {
        "CandidateName": name,
        "FinalAutoMLJobObjectiveMetric": {
            "Type": "Minimize" if metric in _MINIMIZE else "Maximize",
            "MetricName": metric,
            "Value": value,
        },
        "ObjectiveStatus": "Succeeded",
        "CandidateSteps": [
            {
                "CandidateStepType": "AWS::SageMaker::TrainingJob",
                "CandidateStepArn": arn,
                "CandidateStepName": name,
            }
        ],
        "CandidateStatus": "Completed",
        "InferenceContainers": [
            {
                "Image": framework_image_uri("sklearn", backend.region_name, serving=True),
                "ModelDataUrl": artifact,
                "Environment": {
                    "SAGEMAKER_PROGRAM": "inference.py",
                    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
                },
            }
        ],
        "CreationTime": started,
        "EndTime": now,
        "LastModifiedTime": now,
    }


def _deploy(job: dict[str, Any], best: dict[str, Any]) -> None:
    """ModelDeployConfig: the best candidate as a model, an endpoint config and the endpoint."""
    client = own_client("sagemaker", job["_endpoint_url"], job["AutoMLJobArn"].split(":")[3])
    endpoint = job["ModelDeployConfig"]["EndpointName"]
    model = f"{best['CandidateName'][:50]}-model"
    client.create_model(
        ModelName=model, ExecutionRoleArn=job["RoleArn"], Containers=best["InferenceContainers"]
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    client.create_endpoint_config(EndpointConfigName=f"{endpoint}-config", ProductionVariants=[variant])
    client.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
    job["ModelDeployResult"] = {"EndpointName": endpoint}


# ---------------------------------------------------------------- moto patches (see registry.py)

_DESCRIBED = (
    "AutoMLJobName", "AutoMLJobArn", "InputDataConfig", "OutputDataConfig", "RoleArn", "AutoMLJobObjective",
    "ProblemType", "AutoMLJobConfig", "CreationTime", "EndTime", "LastModifiedTime", "FailureReason",
    "BestCandidate", "AutoMLJobStatus", "AutoMLJobSecondaryStatus", "ResolvedAttributes",
    "ModelDeployConfig", "ModelDeployResult",
)  # fmt: skip


@registry.replaces("create_auto_ml_job", registry.RESPONSE)
def _response_create(self: Any) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("AutoMLJobName")
    jobs = _jobs(backend)
    arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:automl-job/{name.lower()}"
    if name in jobs:
        raise ResourceInUseException(f"AutoML job {arn} already exists")
    inputs = self._get_param("InputDataConfig") or []
    if len(inputs) != 1 or "TargetAttributeName" not in inputs[0]:
        raise ValidationError("InputDataConfig needs one channel with a TargetAttributeName")
    now = utcnow()
    job = {
        "AutoMLJobName": name,
        "AutoMLJobArn": arn,
        "InputDataConfig": inputs,
        "OutputDataConfig": self._get_param("OutputDataConfig"),
        "RoleArn": self._get_param("RoleArn"),
        "AutoMLJobObjective": self._get_param("AutoMLJobObjective"),
        "ProblemType": self._get_param("ProblemType"),
        "AutoMLJobConfig": self._get_param("AutoMLJobConfig"),
        "ModelDeployConfig": self._get_param("ModelDeployConfig") or {},
        "CreationTime": now,
        "LastModifiedTime": now,
        "AutoMLJobStatus": "InProgress",
        "AutoMLJobSecondaryStatus": "Starting",
        "_endpoint_url": f"http://{self.headers.get('Host', '127.0.0.1')}",
        "_tagged": Tagged(arn, list(self._get_param("Tags") or [])),
    }
    jobs[name] = job
    job_experiment(backend, "automl", name)
    launch("automl", backend, name, lambda started: run(backend, job, started))
    return ActionResult({"AutoMLJobArn": arn})


def stop(backend: Any, name: str) -> None:
    """Ask a running job to stop: Stopping now, Stopped once its run has noticed."""
    job = _jobs(backend).get(name)
    if job is None:
        raise ResourceNotFound(f"Could not find AutoML job with name {name}.")
    status = job["AutoMLJobStatus"]
    if status == "Stopping":
        return
    if status != "InProgress":
        raise ValidationError(
            f"The request was rejected because the AutoML job {name} is in status {status}."
        )
    log.info("automl %s: stop requested", name)
    job["AutoMLJobSecondaryStatus"] = job["AutoMLJobStatus"] = "Stopping"
    job["LastModifiedTime"] = utcnow()
    run_info = run_of("automl", backend, name)
    if run_info is None or run_info.done.is_set():  # nothing runs it (a job of an earlier server)
        job["AutoMLJobSecondaryStatus"] = job["AutoMLJobStatus"] = "Stopped"
        return
    run_info.stop.set()


@registry.replaces("stop_auto_ml_job", registry.RESPONSE)
def _response_stop(self: Any) -> EmptyResult:
    stop(self.sagemaker_backend, self._get_param("AutoMLJobName"))
    return EmptyResult()


@registry.replaces("describe_auto_ml_job", registry.RESPONSE)
def _response_describe(self: Any) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("AutoMLJobName")
    job = _jobs(backend).get(name)
    if job is None:
        raise ValidationError(f"Could not find AutoML job with name {name}")
    if job["AutoMLJobStatus"] == "InProgress":
        mark_observed("automl", backend, name)
    answer = {k: job[k] for k in _DESCRIBED if job.get(k) not in (None, {}, "")}
    return ActionResult(answer)
