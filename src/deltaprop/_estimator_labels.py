"""Class labels for the classifier: sorting (mixed types too), encoding, class weights."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils.multiclass import check_classification_targets, unique_labels


def classes_of(y: Any) -> NDArray[Any]:
    """The sorted distinct labels of y; labels mixing strings and numbers sort numbers first."""
    y = np.asarray(y)
    values = y.tolist() if y.dtype == object else None
    if values is not None and len({isinstance(v, str) for v in values}) > 1:
        labels = sorted(set(values), key=lambda v: (isinstance(v, str), v))
        classes = np.empty(len(labels), dtype=object)
        classes[:] = labels
        return classes
    check_classification_targets(y)
    return unique_labels(y)


def encode(y: Any, classes: NDArray[Any]) -> tuple[NDArray[Any], list[Any]]:
    """Indices of y's labels in classes, and the labels of y that classes lacks."""
    lookup = {label: i for i, label in enumerate(classes.tolist())}
    labels = np.asarray(y).tolist()
    index = np.fromiter((lookup.get(label, -1) for label in labels), dtype=np.intp, count=len(labels))
    unseen = (
        [] if (index >= 0).all() else sorted({str(v) for v, i in zip(labels, index, strict=True) if i < 0})
    )
    return index, unseen


def shown(labels: Any) -> str:
    return str(list(np.asarray(labels).tolist()))


def class_weights(class_weight: Any, classes: NDArray[Any], index: NDArray[np.intp]) -> NDArray[np.float64]:
    """The weight of each class: {label: weight} (1 for the others), or "balanced" n / (K count_k)."""
    K = len(classes)
    if isinstance(class_weight, str):  # "balanced", as scikit-learn's compute_class_weight
        return len(index) / (K * np.bincount(index, minlength=K))
    lookup = {label: i for i, label in enumerate(classes.tolist())}
    weights = np.ones(K)
    for label, weight in class_weight.items():
        if label not in lookup:
            raise ValueError(
                f"The 'class_weight' parameter names the class {label!r}, which is not one of "
                f"classes_ {shown(classes)}."
            )
        weights[lookup[label]] = weight
    if not (np.isfinite(weights) & (weights >= 0)).all():
        raise ValueError(f"The class weights must be finite and non-negative. Got {class_weight}.")
    return weights
