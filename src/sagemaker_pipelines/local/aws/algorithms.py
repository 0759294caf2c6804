"""Local equivalents of SageMaker's built-in knn, linear-learner and xgboost algorithms.

They read the same channel data the AWS containers read (text/csv, label in the FIRST column, no header;
xgboost also text/libsvm) and validate the hyperparameters AWS requires, so a job that fails on AWS for a
missing ``k`` fails here too. The estimators are scikit-learn / xgboost ones, not Amazon's implementations:
results are comparable, not identical.

Model archive (``model.tar.gz``) of a built-in job::

    local-aws-model.json   {"format": "local-aws-builtin/1", "algorithm": "knn", "predictor_type": ...,
                            "feature_dim": 4, "artifact": "model.joblib", "hyperparameters": {...}}
    model.joblib           the fitted scikit-learn estimator (knn, linear-learner)
    xgboost-model.json     the xgboost Booster in xgboost's JSON format (xgboost)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sagemaker_pipelines.local.aws.sandbox import JobError

META_FILE = "local-aws-model.json"
META_FORMAT = "local-aws-builtin/1"
SUPPORTED = ("knn", "linear-learner", "xgboost")
EVAL_CHANNELS = ("train", "validation", "test")


# ---------------------------------------------------------------------------------------------- data
def read_channel(folder: Path, content_type: str | None, algorithm: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels and features of every file in a channel folder (files are concatenated in name order)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise JobError(f"ClientError: channel '{folder.name}' has no data files")
    kind = (content_type or "").split(";")[0].strip().lower()
    if not kind:  # AWS defaults: xgboost expects libsvm, the others recordio-protobuf; sniff instead
        first = files[0].read_text(errors="replace").lstrip().split("\n", 1)[0]
        kind = "text/libsvm" if algorithm == "xgboost" and ":" in first else "text/csv"
    if kind in ("text/csv", "csv"):
        blocks = []
        for path in files:
            try:
                data = np.loadtxt(path, delimiter=",", dtype=float, ndmin=2)
            except ValueError as exc:
                raise JobError(f"ClientError: unable to parse {path.name} as text/csv: {exc}") from exc
            if data.size:
                blocks.append(data)
        if not blocks:
            raise JobError(f"ClientError: channel '{folder.name}' is empty")
        widths = {b.shape[1] for b in blocks}
        if len(widths) > 1:
            raise JobError(f"ClientError: files in channel '{folder.name}' have different column counts")
        data = np.vstack(blocks)
        if data.shape[1] < 2:
            raise JobError("ClientError: text/csv data needs a label column and at least one feature")
        return data[:, 0], data[:, 1:]
    if kind in ("text/libsvm", "libsvm", "text/x-libsvm"):
        from sklearn.datasets import load_svmlight_files

        parts = load_svmlight_files([str(p) for p in files])
        n_features = max(parts[i].shape[1] for i in range(0, len(parts), 2))
        xs = [parts[i].toarray() for i in range(0, len(parts), 2)]
        xs = [np.pad(x, ((0, 0), (0, n_features - x.shape[1]))) for x in xs]
        return np.concatenate([parts[i] for i in range(1, len(parts), 2)]), np.vstack(xs)
    raise JobError(f"ClientError: content type '{content_type}' is not supported by the local {algorithm}")


# --------------------------------------------------------------------------------- hyperparameters
def _number(hps: Mapping[str, str], name: str, cast: Callable[[str], Any], default: Any = None) -> Any:
    raw = hps.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    text = str(raw).strip().strip('"')
    try:
        value = float(text) if cast is float else int(float(text))
        if cast is int and float(text) != int(float(text)):
            raise ValueError
    except ValueError:
        raise JobError(f"ClientError: hyperparameter '{name}' must be {cast.__name__}, got '{raw}'") from None
    return value


def _require(hps: Mapping[str, str], names: tuple[str, ...], algorithm: str) -> None:
    missing = [n for n in names if str(hps.get(n, "")).strip() == ""]
    if missing:
        raise JobError(
            f"ClientError: missing required hyperparameter(s) for {algorithm}: {', '.join(missing)}"
        )


def _parse_value(raw: str) -> Any:
    text = str(raw).strip().strip('"')
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


# ---------------------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    metrics: dict[str, float]


def train(
    algorithm: str,
    hyperparameters: Mapping[str, str],
    channels: Mapping[str, Path],
    content_types: Mapping[str, str | None],
    model_dir: Path,
    say: Callable[[str], None],
) -> TrainResult:
    """Fit ``algorithm`` on the 'train' channel, write the model archive contents into ``model_dir`` and
    compute metrics (named ``<channel>:<metric>`` like AWS) on every train/validation/test channel."""
    if "train" not in channels:
        raise JobError("ClientError: channel 'train' is missing (the built-in algorithms need it)")
    hps = {k: str(v) for k, v in hyperparameters.items()}
    data = {
        ch: read_channel(channels[ch], content_types.get(ch), algorithm)
        for ch in EVAL_CHANNELS
        if ch in channels
    }
    y, x = data["train"]
    say(f"{algorithm}: {x.shape[0]} training rows, {x.shape[1]} features")
    trainer = {"knn": _train_knn, "linear-learner": _train_linear, "xgboost": _train_xgboost}[algorithm]
    meta = trainer(hps, x, y, model_dir)
    meta.update(
        {
            "format": META_FORMAT,
            "algorithm": algorithm,
            "feature_dim": int(x.shape[1]),
            "hyperparameters": hps,
        }
    )
    (model_dir / META_FILE).write_text(json.dumps(meta, indent=2))
    model = load(model_dir)
    metrics: dict[str, float] = {}
    for ch, (ych, xch) in data.items():
        for name, value in model.metrics(xch, ych).items():
            metrics[f"{ch}:{name}"] = value
    for name, value in sorted(metrics.items()):
        say(f"#quality_metric: host=algo-1, {name} <score>={value:.6g}")
    return TrainResult(metrics)


def _check_feature_dim(hps: Mapping[str, str], x: np.ndarray, required: bool) -> None:
    dim = _number(hps, "feature_dim", int)
    if dim is None and not required:
        return
    if dim != x.shape[1]:
        raise JobError(
            f"ClientError: feature_dim={dim} does not match the {x.shape[1]} feature columns of the data "
            "(label in the first column)"
        )


def _train_knn(hps: Mapping[str, str], x: np.ndarray, y: np.ndarray, model_dir: Path) -> dict[str, Any]:
    import joblib
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    _require(hps, ("k", "feature_dim", "predictor_type", "sample_size"), "knn")
    predictor_type = hps["predictor_type"].strip('"')
    if predictor_type not in ("classifier", "regressor"):
        raise JobError(f"ClientError: predictor_type must be classifier or regressor, got '{predictor_type}'")
    _check_feature_dim(hps, x, required=True)
    k, sample_size = _number(hps, "k", int), _number(hps, "sample_size", int)
    if k < 1 or sample_size < 1:
        raise JobError("ClientError: k and sample_size must be positive integers")
    if sample_size < len(y):  # AWS samples sample_size training points
        idx = np.random.default_rng(0).choice(len(y), size=sample_size, replace=False)
        x, y = x[idx], y[idx]
    if k > len(y):
        raise JobError(f"ClientError: k={k} is larger than the {len(y)} sampled training points")
    weights = "distance" if hps.get("index_metric", "").strip('"') == "COSINE" else "uniform"
    cls = KNeighborsClassifier if predictor_type == "classifier" else KNeighborsRegressor
    estimator = cls(n_neighbors=k, weights=weights).fit(x, y)
    joblib.dump(estimator, model_dir / "model.joblib")
    return {"predictor_type": predictor_type, "artifact": "model.joblib"}


def _train_linear(hps: Mapping[str, str], x: np.ndarray, y: np.ndarray, model_dir: Path) -> dict[str, Any]:
    import joblib
    from sklearn.linear_model import LinearRegression, LogisticRegression

    _require(hps, ("predictor_type",), "linear-learner")
    predictor_type = hps["predictor_type"].strip('"')
    _check_feature_dim(hps, x, required=False)
    if predictor_type == "regressor":
        estimator: Any = LinearRegression().fit(x, y)
    elif predictor_type in ("binary_classifier", "multiclass_classifier"):
        if predictor_type == "multiclass_classifier":
            _require(hps, ("num_classes",), "linear-learner (multiclass_classifier)")
            n = _number(hps, "num_classes", int)
            if set(np.unique(y)) - set(range(n)):
                raise JobError(f"ClientError: labels must be integers in [0, {n}) for num_classes={n}")
        elif set(np.unique(y)) - {0.0, 1.0}:
            raise JobError("ClientError: binary_classifier labels must be 0 or 1")
        l2 = _number(hps, "wd", float, 0.0) or 0.0
        estimator = LogisticRegression(C=1.0 / l2 if l2 > 0 else 1e4, max_iter=1000).fit(x, y)
    else:
        raise JobError(
            "ClientError: predictor_type must be binary_classifier, multiclass_classifier or regressor, "
            f"got '{predictor_type}'"
        )
    joblib.dump(estimator, model_dir / "model.joblib")
    return {"predictor_type": predictor_type, "artifact": "model.joblib"}


_XGB_NON_PARAMS = {"num_round", "early_stopping_rounds", "csv_weights", "_tuning_objective_metric"}


def _train_xgboost(hps: Mapping[str, str], x: np.ndarray, y: np.ndarray, model_dir: Path) -> dict[str, Any]:
    import xgboost as xgb

    _require(hps, ("num_round",), "xgboost")
    num_round = _number(hps, "num_round", int)
    params = {k: _parse_value(v) for k, v in hps.items() if k not in _XGB_NON_PARAMS}
    params.setdefault("objective", "reg:squarederror")
    params.setdefault("nthread", 2)
    try:
        booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=num_round)
    except xgb.core.XGBoostError as exc:
        raise JobError(
            f"ClientError: xgboost rejected the hyperparameters: {str(exc).splitlines()[0]}"
        ) from exc
    booster.save_model(str(model_dir / "xgboost-model.json"))
    return {"predictor_type": str(params["objective"]), "artifact": "xgboost-model.json"}


# ------------------------------------------------------------------------------------- serving
class BuiltinModel:
    """A loaded built-in model: predictions per record and the metrics AWS reports for it."""

    def __init__(self, algorithm: str, predictor_type: str, estimator: Any) -> None:
        self.algorithm = algorithm
        self.predictor_type = predictor_type
        self.estimator = estimator

    @property
    def default_accept(self) -> str:
        """What the AWS container answers when no Accept is given."""
        return "text/csv" if self.algorithm == "xgboost" else "application/jsonlines"

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.algorithm == "xgboost":
            import xgboost as xgb

            return self.estimator.predict(xgb.DMatrix(x))
        return self.estimator.predict(x)

    def records(self, x: np.ndarray) -> list[dict[str, Any]]:
        """One JSON-able object per row, shaped like the AWS containers' JSON answers."""
        if self.algorithm == "xgboost":
            return [{"score": _jsonable(v)} for v in self.predict(x)]
        labels = self.predict(x)
        if self.algorithm == "linear-learner" and self.predictor_type != "regressor":
            proba = self.estimator.predict_proba(x)
            scores = proba[:, 1] if self.predictor_type == "binary_classifier" else proba
            return [
                {"score": _jsonable(s), "predicted_label": float(v)}
                for s, v in zip(scores, labels, strict=True)
            ]
        if self.algorithm == "linear-learner":
            return [{"score": float(v)} for v in labels]
        return [{"predicted_label": float(v)} for v in labels]

    def csv_values(self, x: np.ndarray) -> list[str]:
        """One CSV line per row: the predicted label (or score, or probability vector)."""
        values = self.predict(x)
        return [",".join(_fmt(v) for v in np.atleast_1d(row)) for row in values]

    def metrics(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        from sklearn import metrics as m

        if self.algorithm == "knn":
            pred = self.predict(x)
            if self.predictor_type == "classifier":
                return {"accuracy": float(m.accuracy_score(y, pred))}
            return {"mse": float(m.mean_squared_error(y, pred))}
        if self.algorithm == "linear-learner":
            if self.predictor_type == "regressor":
                pred = self.predict(x)
                mse = float(m.mean_squared_error(y, pred))
                return {
                    "objective_loss": mse,
                    "mse": mse,
                    "rmse": math.sqrt(mse),
                    "absolute_loss": float(m.mean_absolute_error(y, pred)),
                    "r2": float(m.r2_score(y, pred)),
                }
            proba = self.estimator.predict_proba(x)
            pred = self.predict(x)
            out = {"objective_loss": float(m.log_loss(y, proba, labels=self.estimator.classes_))}
            if self.predictor_type == "binary_classifier":
                out["binary_classification_accuracy"] = float(m.accuracy_score(y, pred))
                out["binary_f_beta"] = float(m.f1_score(y, pred, zero_division=0))
                out["precision"] = float(m.precision_score(y, pred, zero_division=0))
                out["recall"] = float(m.recall_score(y, pred, zero_division=0))
                if len(np.unique(y)) == 2:
                    out["roc_auc_score"] = float(m.roc_auc_score(y, proba[:, 1]))
            else:
                out["multiclass_accuracy"] = float(m.accuracy_score(y, pred))
            return out
        return _xgboost_metrics(self.predictor_type, self.predict(x), y)


def _xgboost_metrics(objective: str, pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as m

    if objective.startswith("binary:"):
        labels = (pred > (0.0 if objective == "binary:logitraw" else 0.5)).astype(float)
        out = {"error": float(np.mean(labels != y)), "accuracy": float(np.mean(labels == y))}
        out["f1"] = float(m.f1_score(y, labels, zero_division=0))
        if objective == "binary:logistic":
            out["logloss"] = float(m.log_loss(y, np.clip(pred, 1e-15, 1 - 1e-15), labels=[0, 1]))
        if len(np.unique(y)) == 2:
            out["auc"] = float(m.roc_auc_score(y, pred))
        return out
    if objective.startswith("multi:"):
        labels = pred.argmax(axis=1) if pred.ndim == 2 else pred
        out = {"merror": float(np.mean(labels != y)), "accuracy": float(np.mean(labels == y))}
        if pred.ndim == 2:
            out["mlogloss"] = float(m.log_loss(y, pred, labels=list(range(pred.shape[1]))))
        return out
    mse = float(m.mean_squared_error(y, pred))
    return {
        "rmse": math.sqrt(mse),
        "mse": mse,
        "mae": float(m.mean_absolute_error(y, pred)),
        "r2": float(m.r2_score(y, pred)) if len(y) > 1 else 0.0,
    }


def _jsonable(value: Any) -> Any:
    arr = np.asarray(value)
    return arr.tolist() if arr.ndim else float(arr)


def _fmt(value: Any) -> str:
    return repr(float(value))


def is_builtin_model(model_dir: Path) -> bool:
    """True when the extracted archive holds a local built-in model (or an AWS xgboost 'xgboost-model')."""
    return (model_dir / META_FILE).is_file() or (model_dir / "xgboost-model").is_file()


def load(model_dir: Path) -> BuiltinModel:
    """Load an extracted built-in model archive."""
    meta_path = model_dir / META_FILE
    if not meta_path.is_file():
        return _load_aws_xgboost(model_dir / "xgboost-model")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != META_FORMAT:
        raise JobError(f"ClientError: unknown model format {meta.get('format')!r} in {META_FILE}")
    artifact = model_dir / meta["artifact"]
    if meta["algorithm"] == "xgboost":
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(str(artifact))
        return BuiltinModel("xgboost", meta["predictor_type"], booster)
    import joblib

    return BuiltinModel(meta["algorithm"], meta["predictor_type"], joblib.load(artifact))


def _load_aws_xgboost(path: Path) -> BuiltinModel:
    """A model trained by the real AWS xgboost container (native format, or a pickled Booster)."""
    import pickle

    import xgboost as xgb

    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except xgb.core.XGBoostError:
        with path.open("rb") as fh:
            booster = pickle.load(fh)
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    return BuiltinModel("xgboost", objective, booster)
