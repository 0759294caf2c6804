"""Load a SageMaker model (image + ModelDataUrl + Environment) and answer inference requests.

Batch transform and endpoints share this code, so a model answers the same way in both. Two kinds of model:

* built-in (knn, linear-learner, xgboost without SAGEMAKER_PROGRAM): the archive written by ``algorithms``;
  request bodies are text/csv rows (no label), application/json (``{"instances": [{"features": [...]}]}``,
  a list of rows, or one row) or application/jsonlines; answers are text/csv (one value per line) or JSON
  objects such as ``{"predicted_label": 2.0}`` / ``{"score": 0.7}``.
* script mode (Environment has SAGEMAKER_PROGRAM + SAGEMAKER_SUBMIT_DIRECTORY, as the framework serving
  containers read): the user's script is imported as an isolated module *inside the server process* and
  served through ``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn`` (or ``transform_fn``), with
  the containers' defaults for the ones it lacks.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sagemaker_pipelines.compile.images import identify_image
from sagemaker_pipelines.local.aws import algorithms
from sagemaker_pipelines.local.aws.sandbox import JobError
from sagemaker_pipelines.local.aws.script_mode import fetch_source
from sagemaker_pipelines.local.aws.storage import S3Store, StorageError, extract_tarball

_IMPORT_LOCK = threading.Lock()
_TEXT_TYPES = ("text/csv", "application/json", "application/jsonlines", "application/x-jsonlines")


class ModelError(Exception):
    """The model could not answer a request (bad payload, exception in user code...)."""


def base_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


# --------------------------------------------------------------------------------------- payloads
def parse_rows(body: bytes | str, content_type: str | None) -> np.ndarray:
    """Feature rows of a request body (no label column)."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    kind = base_type(content_type) or "text/csv"
    try:
        if kind == "text/csv":
            rows = [[float(v) for v in line.split(",")] for line in text.splitlines() if line.strip()]
        elif kind == "application/json":
            rows = _json_rows(json.loads(text))
        elif kind in ("application/jsonlines", "application/x-jsonlines"):
            rows = [r for line in text.splitlines() if line.strip() for r in _json_rows(json.loads(line))]
        else:
            raise ModelError(
                f"unsupported content type '{content_type}' (text/csv, application/json, "
                "application/jsonlines)"
            )
        return np.asarray(rows, dtype=float).reshape(len(rows), -1)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"unable to parse the request as {kind}: {exc}") from exc


def _json_rows(obj: Any) -> list[list[float]]:
    if isinstance(obj, dict):
        if "instances" in obj:
            return [r for inst in obj["instances"] for r in _json_rows(inst)]
        if "features" in obj:
            return [list(obj["features"])]
        if "data" in obj:
            return _json_rows(obj["data"])
        raise ValueError("JSON object without 'instances' or 'features'")
    if isinstance(obj, list) and obj and isinstance(obj[0], (list, dict)):
        return [r for item in obj for r in _json_rows(item)]
    return [list(obj)]


def _encode(prediction: Any, accept: str) -> bytes:
    """The serving containers' default encoders."""
    kind = base_type(accept)
    if kind == "application/x-npy":
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction))
        return buffer.getvalue()
    arr = np.asarray(prediction)
    if kind == "text/csv":
        rows = arr.reshape(len(arr), -1) if arr.ndim else arr.reshape(1, 1)
        return "\n".join(",".join(str(v) for v in row) for row in rows.tolist()).encode()
    if kind == "application/json":
        return json.dumps(arr.tolist()).encode()
    if kind in ("application/jsonlines", "application/x-jsonlines"):
        return "\n".join(json.dumps(v) for v in np.atleast_1d(arr).tolist()).encode()
    raise ModelError(f"unsupported Accept '{accept}'")


# ----------------------------------------------------------------------------------------- models
class BuiltinServed:
    """A built-in algorithm model behind the AWS container's request/response formats."""

    def __init__(self, model: algorithms.BuiltinModel) -> None:
        self.model = model
        self.default_accept = model.default_accept

    def invoke(
        self, body: bytes, content_type: str | None, accept: str | None, *, lines: bool = False
    ) -> tuple[bytes, str]:
        """Predict every row of ``body``. ``lines``: JSON answers as one object per line (batch transform)
        instead of ``{"predictions": [...]}`` (endpoints)."""
        if base_type(accept) in ("", "*/*"):
            # Without Accept an endpoint answers as AWS documents for the algorithm: knn and linear-learner
            # application/json {"predictions": [...]}; a batch transform writes one JSON object per line.
            accept = self.default_accept
            if accept == "application/jsonlines" and not lines:
                accept = "application/json"
        else:
            accept = base_type(accept)
        x = parse_rows(body, content_type)
        if x.shape[0] == 0:
            return b"", accept
        try:
            if accept == "text/csv":
                return "\n".join(self.model.csv_values(x)).encode(), accept
            records = self.model.records(x)
        except Exception as exc:  # shape mismatch and the like
            raise ModelError(f"prediction failed: {exc}") from exc
        if accept in ("application/jsonlines", "application/x-jsonlines") or (
            accept == "application/json" and lines
        ):
            return "\n".join(json.dumps(r) for r in records).encode(), accept
        if accept == "application/json":
            return json.dumps({"predictions": records}).encode(), accept
        raise ModelError(f"unsupported Accept '{accept}' (text/csv, application/json, application/jsonlines)")


class ScriptServed:
    """A script-mode model served through the user's model_fn/input_fn/predict_fn/output_fn."""

    def __init__(self, module: Any, model_dir: Path, default_accept: str) -> None:
        self.module = module
        self.default_accept = default_accept
        self._lock = threading.Lock()  # user code need not be thread-safe
        model_fn = getattr(module, "model_fn", None)
        try:
            self.model = model_fn(str(model_dir)) if model_fn else _default_model_fn(model_dir)
        except Exception as exc:
            raise JobError(f"ClientError: model_fn failed: {type(exc).__name__}: {exc}") from exc

    def invoke(
        self, body: bytes, content_type: str | None, accept: str | None, *, lines: bool = False
    ) -> tuple[bytes, str]:
        accept = self.default_accept if base_type(accept) in ("", "*/*") else accept
        kind = base_type(content_type)
        payload: bytes | str = body.decode("utf-8") if kind in _TEXT_TYPES else body
        m = self.module
        try:
            with self._lock:
                if hasattr(m, "transform_fn"):
                    result = m.transform_fn(self.model, payload, content_type, accept)
                else:
                    data = (
                        m.input_fn(payload, content_type)
                        if hasattr(m, "input_fn")
                        else _default_input(payload, content_type)
                    )
                    pred = (
                        m.predict_fn(data, self.model)
                        if hasattr(m, "predict_fn")
                        else self.model.predict(data)
                    )
                    result = m.output_fn(pred, accept) if hasattr(m, "output_fn") else _encode(pred, accept)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"{type(exc).__name__}: {exc}") from exc
        out_type = accept
        if isinstance(result, tuple) and len(result) == 2:
            result, out_type = result
        if isinstance(result, str):
            result = result.encode()
        elif not isinstance(result, (bytes, bytearray)):
            result = json.dumps(np.asarray(result).tolist()).encode()
        return bytes(result), str(out_type)


def _default_input(payload: bytes | str, content_type: str | None) -> Any:
    kind = base_type(content_type) or "text/csv"
    if kind == "application/x-npy":
        return np.load(io.BytesIO(payload if isinstance(payload, bytes) else payload.encode()))
    if kind == "application/json":
        return np.asarray(json.loads(payload))
    return parse_rows(payload, kind)


def _default_model_fn(model_dir: Path) -> Any:
    """Without model_fn: a joblib/pickle file or an xgboost model in the archive."""
    import joblib

    for name in ("model.joblib", "model.pkl", "model.pickle"):
        if (model_dir / name).is_file():
            return joblib.load(model_dir / name)
    if algorithms.is_builtin_model(model_dir):
        return algorithms.load(model_dir).estimator
    raise JobError("ClientError: the script has no model_fn and the archive has no model.joblib/model.pkl")


def import_script(path: Path) -> Any:
    """Import a user script as a fresh module (unique name; its folder on sys.path for sibling imports)."""
    with _IMPORT_LOCK:
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        name = f"local_aws_user_{path.stem}_{uuid.uuid4().hex[:8]}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise JobError(f"ClientError: cannot import {path.name}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:
            raise JobError(f"ClientError: importing {path.name} failed: {type(exc).__name__}: {exc}") from exc
        return module


def _env_value(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        decoded = json.loads(value)
        return decoded if isinstance(decoded, str) else value
    except ValueError:
        return value


def load_model(store: S3Store, container: Mapping[str, Any], work_dir: Path) -> BuiltinServed | ScriptServed:
    """Download and load a model's PrimaryContainer (Image, ModelDataUrl, Environment) into ``work_dir``;
    JobError names what is wrong (unsupported image, missing archive, broken script...)."""
    image = str(container.get("Image") or "")
    env = {k: str(v) for k, v in (container.get("Environment") or {}).items()}
    data_url = container.get("ModelDataUrl")
    info = identify_image(image) if image else None
    program = _env_value(env.get("SAGEMAKER_PROGRAM"))
    model_dir = work_dir / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    if data_url:
        try:
            extract_tarball(store.get(str(data_url)), model_dir)
        except StorageError as exc:
            raise JobError(f"ClientError: could not download the model data: {exc}") from exc
        except Exception as exc:
            raise JobError(f"ClientError: {data_url} is not a valid model.tar.gz: {exc}") from exc

    if program:
        submit = _env_value(env.get("SAGEMAKER_SUBMIT_DIRECTORY"))
        source = fetch_source(store, submit, work_dir / "code", model_dir) if submit else model_dir / "code"
        entry = source / program
        if not entry.is_file():
            raise JobError(f"ClientError: SAGEMAKER_PROGRAM '{program}' not found in {submit or 'the model'}")
        accept = env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
        return ScriptServed(import_script(entry), model_dir, accept)
    if info is None or info.kind == "custom":
        raise JobError(
            f"ClientError: unsupported inference image '{image}' (only built-in algorithms and "
            "framework images with SAGEMAKER_PROGRAM can be served locally)"
        )
    if info.kind == "framework" and info.name != "xgboost":
        raise JobError(
            f"ClientError: the {info.name} serving image needs SAGEMAKER_PROGRAM and "
            "SAGEMAKER_SUBMIT_DIRECTORY in the model Environment"
        )
    if not data_url:
        raise JobError("ClientError: the model has no ModelDataUrl")
    if not algorithms.is_builtin_model(model_dir):
        raise JobError(f"ClientError: {data_url} does not hold a {info.name} model")
    return BuiltinServed(algorithms.load(model_dir))
