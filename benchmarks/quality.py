"""Default-parameter quality: deltaprop's MLP estimators against scikit-learn's, on the bundled data.

For each data set and seed: one split (25 % test, stratified for classification),
StandardScaler + the MLP with default parameters (random_state=seed) in a Pipeline
for both libraries, and the test accuracy (classification) or R^2 (regression;
the target is standardised too, by TransformedTargetRegressor, for both).  Prints
a Markdown table with the mean and standard deviation over the seeds, the
difference deltaprop - scikit-learn in points, and the machine and versions.

    python benchmarks/quality.py            # 3 seeds
    python benchmarks/quality.py --seeds 5
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import numpy as np
import scipy
import sklearn
import sklearn.neural_network as sk
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import deltaprop
from deltaprop.estimators import MLPClassifier, MLPRegressor

DATASETS = {
    "digits": (load_digits, "classification"),
    "iris": (load_iris, "classification"),
    "wine": (load_wine, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "diabetes": (load_diabetes, "regression"),
}


def _model(library: str, task: str, seed: int):
    if task == "classification":
        cls = MLPClassifier if library == "deltaprop" else sk.MLPClassifier
        return make_pipeline(StandardScaler(), cls(random_state=seed))
    cls = MLPRegressor if library == "deltaprop" else sk.MLPRegressor
    return TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), cls(random_state=seed)), transformer=StandardScaler()
    )


def run(seeds: int) -> list[dict[str, object]]:
    rows = []
    for name, (load, task) in DATASETS.items():
        X, y = load(return_X_y=True)
        scores: dict[str, list[float]] = {"deltaprop": [], "scikit-learn": []}
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed, stratify=y if task == "classification" else None
            )
            for library in scores:
                model = _model(library, task, seed)
                with warnings.catch_warnings():  # the default max_iter=200 often stops before convergence
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(X_train, y_train)
                scores[library].append(100 * model.score(X_test, y_test))
        ours, theirs = np.array(scores["deltaprop"]), np.array(scores["scikit-learn"])
        rows.append(
            {
                "data": name,
                "metric": "accuracy %" if task == "classification" else "R^2 x 100",
                "n": X.shape[0],
                "deltaprop": f"{ours.mean():.2f} ± {ours.std():.2f}",
                "scikit-learn": f"{theirs.mean():.2f} ± {theirs.std():.2f}",
                "difference": f"{ours.mean() - theirs.mean():+.2f}",
                "ok": bool(ours.mean() >= theirs.mean() - 1.0),
            }
        )
    return rows


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def markdown(rows: list[dict[str, object]], seeds: int) -> str:
    header = ["data", "metric", "n", "deltaprop", "scikit-learn", "difference"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[key]) for key in header) + " |")
    lines.append("")
    lines.append(
        f"Mean ± standard deviation over {seeds} seeds (split and initial weights); "
        f"{_cpu()} ({os.cpu_count()} CPUs), {platform.system()}, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}, deltaprop {deltaprop.__version__}."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (default 3)")
    args = parser.parse_args()
    rows = run(args.seeds)
    print(markdown(rows, args.seeds))
    failed = [row["data"] for row in rows if not row["ok"]]
    if failed:
        print(f"\ndeltaprop is more than 1 point below scikit-learn on: {', '.join(map(str, failed))}")


if __name__ == "__main__":
    main()
