"""Evaluate the Iris model: its batch-transform predictions against the held-out labels.

Runs as a SageMaker processing job (SageMaker's scikit-learn container locally and on AWS): the
predictions (``*.out`` files of the transform, one label per line) and ``test_labels.csv`` come in as
processing inputs, and ``evaluation.json`` goes out - ``accuracy``, ``correct``, ``records`` and a
per-class accuracy - which the pipeline's quality gate reads through the task's ``reports``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path("/opt/ml/processing")
NAMES = {0: "virginica", 1: "versicolor", 2: "setosa"}  # the encoding of include/iris_data.py


def read_predictions(folder: Path) -> list[float]:
    """One prediction per non-empty line: a number (text/csv) or a JSON object with predicted_label."""
    values: list[float] = []
    for path in sorted(folder.rglob("*.out")):
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("{"):
                record = json.loads(line)
                labels = record.get("predictions", [record])
                values += [float(r["predicted_label"]) for r in labels]
            else:
                values.append(float(line.split(",")[0]))
    return values


def read_labels(folder: Path) -> list[float]:
    return [float(line.split(",")[0]) for f in sorted(folder.glob("*.csv")) for line in f.read_text().split()]


def evaluate(predictions: list[float], labels: list[float]) -> dict:
    if len(predictions) != len(labels):
        raise SystemExit(f"{len(predictions)} predictions for {len(labels)} labels")
    correct = [round(p) == round(y) for p, y in zip(predictions, labels, strict=True)]
    per_class = {}
    for code, name in NAMES.items():
        hits = [c for c, y in zip(correct, labels, strict=True) if round(y) == code]
        if hits:
            per_class[name] = sum(hits) / len(hits)
    return {
        "accuracy": sum(correct) / len(labels),
        "correct": sum(correct),
        "records": len(labels),
        "per_class_accuracy": per_class,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--predictions", type=Path, default=ROOT / "input" / "predictions")
    parser.add_argument("--labels", type=Path, default=ROOT / "input" / "labels")
    parser.add_argument("--output", type=Path, default=ROOT / "output" / "evaluation")
    args = parser.parse_args()
    report = evaluate(read_predictions(args.predictions), read_labels(args.labels))
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "evaluation.json").write_text(json.dumps(report, indent=2))
    print(f"accuracy={report['accuracy']:.4f} ({report['correct']}/{report['records']})")


if __name__ == "__main__":
    main()
