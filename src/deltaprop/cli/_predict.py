"""What ``deltaprop predict`` and ``evaluate`` do: a trained model applied to the rows of a data file."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sklearn.exceptions import UndefinedMetricWarning

from deltaprop.cli._data import load_model, no_column, read_table, table_format, write_table
from deltaprop.cli._errors import UserError, user_input
from deltaprop.cli._preflight import Output, check_outputs
from deltaprop.metrics import classification_metrics, regression_metrics
from deltaprop.network import Network
from deltaprop.preprocessing import Preprocessor

MAX_TABLE_CLASSES = 30  # past this, the per-class table shows the classes with most rows
METRIC_NAMES = {
    "accuracy": "accuracy",
    "log_loss": "log loss",
    "macro_precision": "precision (macro average)",
    "macro_recall": "recall (macro average)",
    "macro_f1": "F1 (macro average)",
    "mse": "mean squared error",
    "rmse": "root mean squared error",
    "mae": "mean absolute error",
    "r2": "R^2",
}


def model_scores(net: Network, prep: Preprocessor, frame: pd.DataFrame) -> dict[str, Any]:
    """The metrics of ``net`` on the rows of ``frame``, which hold the true target."""
    truth: Any  # class indices or numbers
    with user_input():  # the rows' columns and values, checked against those seen at training
        X = prep.transform(frame)
        truth = prep.target_values(frame) if prep.classes is None else prep.target_indices(frame)
    F = net.predict(X)
    if prep.classes is None:
        with warnings.catch_warnings():  # one row has no R^2: it is NaN, shown as such
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            return regression_metrics(truth, prep.decode(F))
    return classification_metrics(truth, prep.probabilities(F), prep.classes)


def _finite_or_none(value: Any) -> Any:
    """``value`` with NaN and infinities as None (null), which JSON can store."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


def run_predict(
    model_path: Path, data: Path, out: Path | None, proba: bool, keep_input: bool, console: Console
) -> pd.DataFrame:
    """Predictions for every row of ``data``, written to ``out`` (CSV on standard output without)."""
    if out is not None:
        table_format(out)
    check_outputs([Output(out, "--out")], [model_path, data])
    model = load_model(model_path)
    prep = model.require_preprocessor(model_path)
    if proba and prep.classes is None:
        raise UserError("--proba is for classification models; this model does regression.")
    frame = read_table(data)
    with user_input():
        X = prep.transform(frame)
    F = model.network.predict(X)
    result = pd.DataFrame({f"predicted_{prep.target}": prep.decode(F)}, index=frame.index)
    if proba:
        assert prep.classes is not None
        P = prep.probabilities(F)
        for k, label in enumerate(prep.classes):
            result[f"proba_{label}"] = P[:, k]
    if keep_input:
        result = pd.concat([frame, result], axis=1)
    if out is None:
        console.file.write(result.to_csv(index=False))
    else:
        write_table(result, out)
        console.print(f"Wrote {len(result)} predictions to [bold]{escape(str(out))}[/bold].")
    return result


def run_evaluate(
    model_path: Path, data: Path, target: str | None, json_path: Path | None, console: Console
) -> dict[str, Any]:
    """Metrics of the model on ``data`` as a table (and a JSON file)."""
    check_outputs([Output(json_path, "--json")], [model_path, data])
    model = load_model(model_path)
    prep = model.require_preprocessor(model_path)
    frame = read_table(data)
    if target is not None and target != prep.target:
        if target not in frame.columns:
            raise no_column(target, data, frame)
        frame = frame.drop(columns=[prep.target], errors="ignore").rename(columns={target: prep.target})
    if prep.target not in frame.columns:
        raise UserError(
            f"The model's target column {prep.target!r} is not in '{data}'; name the column holding "
            f"the true values with --target (its columns are {list(frame.columns)})."
        )
    metrics = model_scores(model.network, prep, frame)
    table = Table(title=f"{prep.task.capitalize()} metrics on {escape(str(data))} ({len(frame)} rows)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        if isinstance(value, float):
            table.add_row(METRIC_NAMES.get(key, key), f"{value:.4f}")
    console.print(table)
    if "per_class" in metrics:
        rows = metrics["per_class"]
        title = "Per class"
        if len(rows) > MAX_TABLE_CLASSES:  # the best-supported classes; all of them are in --json
            rows = sorted(rows, key=lambda row: -row["support"])[:MAX_TABLE_CLASSES]
            title += (
                f" (the {MAX_TABLE_CLASSES} with most rows of {len(metrics['per_class'])}; --json has all)"
            )
        per_class = Table(title=title)
        for column in ("class", "precision", "recall", "f1", "support"):
            per_class.add_column(column, justify="left" if column == "class" else "right")
        for row in rows:
            cells = [escape(str(row["class"]))]
            cells += [f"{row[c]:.4f}" for c in ("precision", "recall", "f1")] + [str(row["support"])]
            per_class.add_row(*cells)
        console.print(per_class)
    if json_path is not None:
        document = {"model": str(model_path), "data": str(data), "n_samples": len(frame), "task": prep.task}
        document.update(metrics)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(_finite_or_none(document), indent=2, allow_nan=False) + "\n")
        console.print(f"Wrote the metrics to [bold]{escape(str(json_path))}[/bold].")
    return metrics
