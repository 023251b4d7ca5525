"""Class labels for the classifier: sorting (mixed types too), encoding, class weights, and their checks.

The checks of what :class:`~deltaprop.estimators.MLPClassifier` is given as labels: y (1-D
labels or a multi-label indicator matrix), partial_fit's ``classes``, the classes of a fit
that continues another (partial_fit, warm_start), and the classes of an adopted network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d


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


def label_targets(y: NDArray[Any], class_weight: Any) -> NDArray[Any]:
    """y as 1-D class labels, or as a 0/1 indicator matrix (n_samples, K) for multi-label."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim == 2 and type_of_target(y) != "multilabel-indicator":
        raise ValueError(
            "MLPClassifier takes y as 1-D class labels or, for multi-label classification, a 0/1 "
            f"indicator matrix; got a 2-D y of type {type_of_target(y)!r}."
        )
    if y.ndim == 2 and class_weight is not None:
        raise ValueError("class_weight is not supported for multi-label y; use sample_weight.")
    return y


def partial_fit_classes(classes: Any, fitted: NDArray[Any] | None, y: Any) -> NDArray[Any] | None:
    """The classes_ that partial_fit's ``classes`` sets on the first call; None where it sets none.

    ``fitted`` is the classes_ the estimator has (None before the first call).
    """
    if fitted is None:
        if classes is None:
            if np.ndim(y) != 2:  # a multi-label y names its labels by its columns
                raise ValueError("classes must be passed on the first call to partial_fit.")
            return None
        order = classes_of(classes)
        if len(order) < 2:
            raise ValueError(f"The 'classes' parameter must list at least 2 classes. Got {shown(classes)}.")
        return order
    if classes is not None and set(np.asarray(classes).tolist()) != set(fitted.tolist()):
        raise ValueError(
            f"`classes={shown(classes)}` is not the same as on the last call to partial_fit, "
            f"was: {shown(fitted)}."
        )
    return None


def fitted_classes(
    classes: NDArray[Any], fitted: NDArray[Any] | None, incremental: bool, multilabel: bool
) -> NDArray[Any]:
    """The classes_ of a fit on y whose labels are ``classes``.

    ``fitted`` is the classes_ that the fit continues (partial_fit, warm_start), else None.
    """
    if fitted is not None and incremental:
        _, unseen = encode(classes, fitted)
        if unseen:
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has {shown(fitted)}. "
                f"'y' has {shown(classes)}; not seen before: {unseen}."
            )
        return fitted
    if fitted is not None:
        if set(classes.tolist()) != set(fitted.tolist()):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the previous call "
                f"to fit. Previously got {shown(fitted)}, `y` has {shown(classes)}."
            )
        return fitted
    if len(classes) < 2 and not multilabel:
        raise ValueError(
            f"MLPClassifier needs samples of at least 2 classes; y holds one class only: {shown(classes)}."
        )
    return classes


def network_classes(output: str, K: int, classes: Any) -> NDArray[Any]:
    """The classes_ of a classifier adopting a network of K ``output`` units; ``classes`` as given."""
    if output not in ("softmax", "sigmoid") or (output == "softmax" and K < 2):
        raise ValueError(
            f"A classifier needs a softmax output with at least 2 units or sigmoid units; the network "
            f"has {K} {output!r} unit(s)."
        )
    n_classes = 2 if output == "sigmoid" and K == 1 else K
    if classes is None:
        classes = np.arange(n_classes)
    elif output == "sigmoid" and K > 1:
        raise ValueError(
            f"A multi-label network ({K} sigmoid units) names its labels 0..{K - 1}; pass classes=None."
        )
    classes = np.asarray(classes)
    if classes.shape != (n_classes,) or len(classes_of(classes)) != n_classes:
        raise ValueError(
            f"The 'classes' parameter must list {n_classes} distinct labels for this network. "
            f"Got {shown(classes)}."
        )
    order = classes_of(classes)
    if not np.array_equal(order.astype(object), classes.astype(object)):
        raise ValueError(
            f"The 'classes' parameter must be sorted, as classes_ is; got {shown(classes)}. Order the "
            "output units as the sorted labels."
        )
    return order


def one_hot(index: NDArray[np.intp], K: int, softmax: bool, dtype: Any) -> NDArray[Any]:
    """The output units' targets Y: one-hot rows (softmax), or [class is classes_[1]] (one sigmoid)."""
    if softmax:
        return np.eye(K, dtype=dtype)[index]
    return (index == 1).astype(dtype)[:, None]


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


def sample_class_weights(
    class_weight: Any,
    classes: NDArray[Any],
    index: NDArray[np.intp],
    sample_weight: NDArray[Any] | None,
    incremental: bool,
) -> NDArray[Any] | None:
    """sample_weight times the weight of each sample's class (index: the samples' classes)."""
    if class_weight is None:
        return sample_weight
    if isinstance(class_weight, str) and incremental:
        raise ValueError(
            "class_weight='balanced' is not supported for partial_fit: one batch does not show the "
            "classes' frequencies. Pass compute_class_weight('balanced', classes=classes, y=y) of "
            "sklearn.utils.class_weight, computed on all the data, as a dict."
        )
    per_sample = class_weights(class_weight, classes, index)[index]
    if sample_weight is None:
        return per_sample.astype(np.float64)
    return sample_weight * per_sample
