"""The script example_sagemaker.py bakes into its preprocessing image (its PREPROCESS_SCRIPT_TEMPLATE, with
the image's input and output paths), which the image's CMD runs: ``python3 /preprocessing.py``.

No image runs on the local endpoint, so the local run of the port gives the processing task this script as
its command (tests/local_run/test_provider_ports.py). One line differs from the original: it split the
shuffled rows with ``np.split``, which returns NumPy arrays, not DataFrames, under pandas 3 (this
machine's; the image's Python 3.9 installs pandas 2), and the next line then fails; ``iloc`` makes the
same split under both.
"""

import numpy as np
import pandas as pd


def main():
    # Load the dataset from /opt/ml/processing/input/input.csv, split it into train/test
    # subsets, and write them to /opt/ml/processing/output/ for the Processing Operator.

    data = pd.read_csv("/opt/ml/processing/input/input.csv")

    # Split into test and train data
    shuffled = data.sample(frac=1, random_state=np.random.RandomState())
    cut = int(0.7 * len(data))
    data_train, data_test = shuffled.iloc[:cut], shuffled.iloc[cut:].copy()

    # Remove the "answers" from the test set
    data_test.drop(["class"], axis=1, inplace=True)

    # Write the splits to disk
    data_train.to_csv("/opt/ml/processing/output/train.csv", index=False, header=False)
    data_test.to_csv("/opt/ml/processing/output/test.csv", index=False, header=False)

    print("Preprocessing Done.")


if __name__ == "__main__":
    main()
