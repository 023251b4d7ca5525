"""How good a network's predictions are: one implementation of each metric.

Everything that reports a metric -- :func:`deltaprop.fit`'s validation score, the
estimators' ``score``, ``deltaprop evaluate``, the reports and the figures -- takes it
from here, so the numbers agree everywhere.  The metrics are scikit-learn's
(:mod:`sklearn.metrics`) wherever scikit-learn is installed; the NumPy-only core
needs just :func:`accuracy` and :func:`r2`, and computes them in NumPy when
scikit-learn is absent, with scikit-learn's conventions:

- R^2 = 1 - SS_res / SS_tot per output column, averaged over the columns; a constant
  target column (SS_tot = 0) scores 1.0 if it is predicted exactly, else 0.0
  (``r2_score``'s ``force_finite=True``).
- Accuracy with several outputs (multi-label) counts a sample right only when every
  label is (``accuracy_score`` on label-indicator rows).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deltaprop._types import Array


def _sklearn_metrics() -> Any:
    """sklearn.metrics, or None where scikit-learn is not installed."""
    try:
        import sklearn.metrics
    except ImportError:
        return None
    return sklearn.metrics


def _sklearn_required(what: str) -> Any:
    metrics = _sklearn_metrics()
    if metrics is None:
        raise ImportError(f"{what} needs scikit-learn: pip install 'deltaprop[sklearn]'")
    return metrics


def accuracy(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """The (weighted) share of samples whose label, or every label of a row, is right.

    >>> accuracy([0, 1, 1, 2], [0, 1, 2, 2])
    0.75
    """
    metrics = _sklearn_metrics()
    if metrics is not None:
        return float(metrics.accuracy_score(y_true, y_pred, sample_weight=sample_weight))
    right = np.asarray(y_true) == np.asarray(y_pred)
    if right.ndim == 2:
        right = right.all(axis=1)
    return float(np.average(right, weights=sample_weight))


def r2(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """R^2, averaged over output columns; a constant target scores 1.0 if exact, else 0.0.

    >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    >>> r2([2.0, 2.0], [2.0, 3.0])   # constant target, wrong predictions: scikit-learn's 0
    0.0
    """
    metrics = _sklearn_metrics()
    if metrics is not None:
        return float(metrics.r2_score(y_true, y_pred, sample_weight=sample_weight))
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.ndim == 1:
        t, p = t[:, None], p[:, None]
    w = np.ones(t.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    ss_res = (w[:, None] * (t - p) ** 2).sum(axis=0)
    ss_tot = (w[:, None] * (t - np.average(t, axis=0, weights=w)) ** 2).sum(axis=0)
    safe = np.where(ss_tot > 0, ss_tot, 1.0)
    scores = np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


def output_score(output: str, F: Array, Y: Array, sample_weight: Any = None) -> float:
    """The score of an output unit's predictions F against the targets Y, both (n, K).

    Accuracy for softmax (argmax of each row) and sigmoid (every label at 0.5), R^2 for
    identity outputs: the validation score of :func:`deltaprop.fit`.

    >>> import numpy as np
    >>> output_score("softmax", np.array([[0.9, 0.1], [0.4, 0.6]]), np.eye(2)[[0, 0]])
    0.5
    """
    if output == "softmax":
        return accuracy(Y.argmax(axis=1), F.argmax(axis=1), sample_weight)
    if output == "sigmoid":
        return accuracy((Y > 0.5).astype(int), (F > 0.5).astype(int), sample_weight)
    if not np.isfinite(F).all():  # overflowed predictions (a diverging training) have no R^2
        return float("nan")
    return r2(Y, F, sample_weight)


def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[Any]) -> NDArray[np.int64]:
    """Counts C[i, j] of samples of true class ``labels[i]`` predicted as ``labels[j]``.

    Samples whose true or predicted label is not in ``labels`` are not counted.
    """
    metrics = _sklearn_required("A confusion matrix")
    return np.asarray(metrics.confusion_matrix(y_true, y_pred, labels=list(labels)), dtype=np.int64)


def classification_metrics(
    y_true: NDArray[np.intp], proba: NDArray[np.float64], classes: Sequence[Any]
) -> dict[str, Any]:
    """Accuracy, log loss, per-class and macro precision, recall, F1, and the confusion matrix.

    ``y_true`` holds class indices 0..K-1 and ``proba`` (n, K) the predicted
    probabilities of ``classes``.  Precision (recall) of a class never predicted (never
    present) is 0, without a warning.

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> m = classification_metrics(np.array([0, 1, 1]), proba, ["a", "b"])
    >>> m["accuracy"], [row["recall"] for row in m["per_class"]]
    (0.6666666666666666, [1.0, 0.5])
    """
    metrics = _sklearn_required("Classification metrics")
    # Rows of float32 probabilities can miss 1 by more than log_loss's float64 check allows.
    proba = np.asarray(proba, dtype=np.float64)
    proba = proba / proba.sum(axis=1, keepdims=True)
    K = proba.shape[1]
    indices = list(range(K))
    y_pred = proba.argmax(axis=1)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=indices, zero_division=0.0
    )
    per_class = [
        {
            "class": classes[k],
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
        }
        for k in indices
    ]
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=indices)),
        "macro_precision": float(np.mean(precision)),
        "macro_recall": float(np.mean(recall)),
        "macro_f1": float(np.mean(f1)),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, indices).tolist(),
    }


def regression_metrics(y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> dict[str, float]:
    """MSE, RMSE, MAE and R^2 (see :func:`r2`), averaged over the output columns.

    Examples
    --------
    >>> import numpy as np
    >>> regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))["r2"]
    0.5
    """
    metrics = _sklearn_required("Regression metrics")
    mse = float(metrics.mean_squared_error(y_true, y_pred))
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
        "r2": float(metrics.r2_score(y_true, y_pred)),
    }
