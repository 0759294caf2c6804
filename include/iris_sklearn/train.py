"""Script-mode training and serving of a scikit-learn KNN on Iris.

SageMaker's scikit-learn container runs this file for training (``python train.py --n_neighbors 3``,
channels in ``SM_CHANNEL_<NAME>``, the model saved to ``SM_MODEL_DIR``) and imports it for serving
(``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``). The local emulator does the same, so
the file runs unchanged on a laptop and on AWS.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.neighbors import KNeighborsClassifier


def read_channel(folder: str) -> pd.DataFrame:
    files = sorted(Path(folder).glob("*.csv"))
    if not files:
        raise ValueError(f"no CSV files in the training channel {folder}")
    return pd.concat(pd.read_csv(f, header=None) for f in files)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n_neighbors", type=int, default=3)
    parser.add_argument("--weights", default="uniform")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "data/train"))
    args, _ = parser.parse_known_args()

    data = read_channel(args.train)
    labels, features = data.iloc[:, 0].astype(int), data.iloc[:, 1:].to_numpy()
    model = KNeighborsClassifier(n_neighbors=args.n_neighbors, weights=args.weights).fit(features, labels)
    print(f"train_accuracy={model.score(features, labels):.4f}")
    Path(args.model_dir).mkdir(parents=True, exist_ok=True)
    joblib.dump(model, Path(args.model_dir) / "model.joblib")


def model_fn(model_dir: str) -> KNeighborsClassifier:
    return joblib.load(Path(model_dir) / "model.joblib")


def input_fn(request_body: str | bytes, content_type: str) -> np.ndarray:
    if content_type != "text/csv":
        raise ValueError(f"unsupported content type {content_type}")
    text = request_body.decode() if isinstance(request_body, bytes) else request_body
    return pd.read_csv(io.StringIO(text), header=None).to_numpy()


def predict_fn(input_data: np.ndarray, model: KNeighborsClassifier) -> np.ndarray:
    return model.predict(input_data)


def output_fn(prediction: np.ndarray, accept: str) -> str:
    return "\n".join(str(int(p)) for p in prediction) + "\n"


if __name__ == "__main__":
    main()
