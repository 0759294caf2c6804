"""Data preparation of the Iris training pipeline (the guide's ``data_prep`` task).

The same code reads the real UCI file on AWS and, with no network, the copy scikit-learn ships
(``sklearn://iris``: the same 150 rows). It writes what SageMaker's KNN wants - CSV, no header,
label first - plus the held-out labels so the run can be scored.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
LABELS = {"Iris-virginica": 0, "Iris-versicolor": 1, "Iris-setosa": 2}


def read_iris(data_url: str) -> pd.DataFrame:
    """The Iris table with UCI's column names and species names."""
    if data_url == "sklearn://iris":
        from sklearn.datasets import load_iris

        bunch = load_iris()
        frame = pd.DataFrame(bunch.data, columns=COLUMNS[:4])
        frame["species"] = ["Iris-" + str(bunch.target_names[t]) for t in bunch.target]
        return frame
    import requests

    response = requests.get(data_url, timeout=60)
    response.raise_for_status()
    return pd.read_csv(io.StringIO(response.text), names=COLUMNS).dropna()


def split(iris: pd.DataFrame, test_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    iris = iris.assign(species=iris["species"].replace(LABELS).astype(int))
    iris = iris[["species", *COLUMNS[:4]]]
    shuffled = iris.sample(frac=1, random_state=np.random.RandomState(seed))
    cut = int((1 - test_fraction) * len(shuffled))
    return shuffled.iloc[:cut], shuffled.iloc[cut:]


def prepare_iris(
    data_url: str, input_uri: str, aws_conn_id: str, test_fraction: float = 0.3, seed: int = 42
) -> dict[str, int]:
    """Fetch, split 70/30 and upload train.csv, test.csv (features only) and test_labels.csv."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    train, test = split(read_iris(data_url), test_fraction, seed)
    bucket, _, prefix = input_uri.removeprefix("s3://").partition("/")
    hook = S3Hook(aws_conn_id=aws_conn_id)
    files = {
        "train.csv": train,
        "test.csv": test.drop(columns=["species"]),
        "test_labels.csv": test[["species"]],
    }
    for name, frame in files.items():
        hook.load_string(frame.to_csv(index=False, header=False), f"{prefix}/{name}", bucket, replace=True)
    return {"train_rows": len(train), "test_rows": len(test)}
