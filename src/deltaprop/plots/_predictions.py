"""Predictions against the truth: decision regions, the confusion matrix, predicted vs true targets.

What a trained model makes of the data: :func:`plot_decision_regions` colours a 2-D
classifier's regions under the labelled points, :func:`confusion_matrix` and
:func:`plot_confusion_matrix` count true against predicted classes, and
:func:`plot_predicted_vs_true` shows a regression's outputs against its targets with
R^2.  Re-exported by :mod:`deltaprop.plots`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from deltaprop import metrics
from deltaprop._checks import check_scalar
from deltaprop.plots._common import (
    MAX_LABELLED_CLASSES,
    _as_labels,
    _class_colours,
    _figure_and_axes,
    _grid,
    _padded_extent,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _check_points(X: Any, y: Any) -> tuple[NDArray[np.float64], NDArray[Any]]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (n, 2): two input features to plot. Got shape {X.shape}.")
    y = _as_labels(y, "y")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} labels but X has {X.shape[0]} rows.")
    return X, y


# ----------------------------------------------------------- classification
def plot_decision_regions(
    predict: Callable[[NDArray[np.float64]], Any],
    X: Any,
    y: Any,
    resolution: int = 200,
    ax: Axes | None = None,
) -> Figure:
    """A 2-D classifier's regions, with the data points on top coloured by class.

    ``predict`` is evaluated on a ``resolution`` x ``resolution`` grid over the
    points' range (plus 10 %).  Its output decides each grid point's class:

    - shape (m, K), K > 1 (probabilities or scores, e.g. ``net.predict``): the
      argmax column k is class k, as with one-hot targets ``np.eye(K)[y]``;
    - shape (m, 1) (a sigmoid output): class 1 where it exceeds 0.5;
    - shape (m,): the labels themselves.

    Parameters
    ----------
    predict : callable
        ``predict(X) -> labels or probabilities`` for X of shape (m, 2).
    X : array of shape (n, 2)
    y : array of shape (n,)
        Class labels (or one-hot rows, decoded by argmax).
    resolution : int, default 200
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    >>> fig = plot_decision_regions(lambda P: (P[:, 0] > 0).astype(int), X, [0, 1], resolution=20)
    >>> fig.axes[0].get_title()
    'Decision regions (accuracy on the points 1.000)'
    """
    X, y = _check_points(X, y)
    check_scalar(resolution, "resolution", low=2, integer=True)

    def labels_of(points: NDArray[np.float64]) -> NDArray[Any]:
        out = np.asarray(predict(points))
        if out.ndim == 2 and out.shape[1] == 1:
            return (out[:, 0] > 0.5).astype(np.int64)
        labels = _as_labels(out, "predict(X)")
        if labels.shape[0] != points.shape[0]:
            raise ValueError(f"predict returned {labels.shape[0]} rows for {points.shape[0]} points.")
        return labels

    extent = _padded_extent(X)
    grid, shape = _grid(extent, resolution)
    regions = labels_of(grid)
    classes = np.unique(np.concatenate([np.unique(y), np.unique(regions)]))
    colours = _class_colours(len(classes))

    from matplotlib.colors import ListedColormap

    fig, ax = _figure_and_axes(ax, (6.0, 5.0))
    ax.imshow(
        np.searchsorted(classes, regions).reshape(shape),
        extent=extent,
        origin="lower",
        cmap=ListedColormap(colours),
        vmin=-0.5,
        vmax=len(classes) - 0.5,
        alpha=0.35,
        interpolation="nearest",
        aspect="auto",
    )
    for i, label in enumerate(classes):
        members = y == label
        if members.any():
            ax.scatter(
                X[members, 0],
                X[members, 1],
                color=colours[i],
                edgecolors="black",
                linewidths=0.5,
                s=22,
                label=f"class {label}",
            )
    accuracy = float(np.mean(labels_of(X) == y))
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(f"Decision regions (accuracy on the points {accuracy:.3f})")
    if len(classes) <= MAX_LABELLED_CLASSES:
        ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
    return fig


def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[Any] | None = None) -> NDArray[np.int64]:
    """Counts C[i, j] of samples of true class ``labels[i]`` predicted as ``labels[j]``.

    ``y_true`` and ``y_pred`` are labels (n,) or score rows (n, K), decoded by argmax.
    ``labels`` defaults to the sorted classes present in either; samples whose true
    or predicted label is not in ``labels`` are not counted.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1]).tolist()
    [[1, 1], [0, 2]]
    """
    y_true = _as_labels(y_true, "y_true")
    y_pred = _as_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.shape[0]} labels but y_pred has {y_pred.shape[0]}.")
    classes = list(np.unique(np.concatenate([y_true, y_pred]))) if labels is None else list(labels)
    if not classes:
        raise ValueError("The 'labels' parameter must name at least one class.")
    return metrics.confusion_matrix(y_true, y_pred, classes)


def plot_confusion_matrix(
    y_true: Any, y_pred: Any, labels: Sequence[Any] | None = None, ax: Axes | None = None
) -> Figure:
    """The confusion matrix as an image, each cell annotated with its count.

    Rows are the true classes, columns the predicted ones; see :func:`confusion_matrix`.
    Past ``MAX_LABELLED_CLASSES`` (30) classes the cells are not annotated, at most 30
    classes are named on each axis and the figure stays 12 inches wide: the image
    alone, readable, and cheap to draw for any number of classes.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1])
    >>> [text.get_text() for text in fig.axes[0].texts]
    ['1', '1', '0', '2']
    """
    counts = confusion_matrix(y_true, y_pred, labels)
    classes = list(np.unique(np.concatenate([_as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")])))
    names = [str(c) for c in (classes if labels is None else labels)]
    K = counts.shape[0]
    labelled = K <= MAX_LABELLED_CLASSES
    side = 0.6 * max(K, 4) if labelled else 0.6 * MAX_LABELLED_CLASSES * 0.6
    fig, ax = _figure_and_axes(ax, (1.2 + side, 1.0 + side))
    ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(int(counts.max()), 1), interpolation="nearest")
    if labelled:
        threshold = counts.max() / 2.0
        for i in range(K):
            for j in range(K):
                colour = "white" if counts[i, j] > threshold else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour)
        ticks = list(range(K))
    else:
        ticks = sorted({round(t) for t in np.linspace(0, K - 1, MAX_LABELLED_CLASSES)})
    ax.set_xticks(ticks, [names[t] for t in ticks], rotation=0 if labelled else 90)
    ax.set_yticks(ticks, [names[t] for t in ticks])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = counts.sum()
    accuracy = np.trace(counts) / total if total else float("nan")
    more = "" if labelled else f", {K} classes: counts not written"
    ax.set_title(f"Confusion matrix (accuracy {accuracy:.3f}{more})")
    return fig


# ---------------------------------------------------------------- regression
def plot_predicted_vs_true(y_true: Any, y_pred: Any, ax: Axes | None = None) -> Figure:
    """Regression: predicted against true targets, the line y = x, and R^2 in the title.

    Parameters
    ----------
    y_true, y_pred : arrays of shape (n,) or (n, K)
        Targets and predictions; with K > 1 each output gets its own colour and
        R^2 is the mean over the outputs.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_predicted_vs_true([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    >>> fig.axes[0].get_title()
    'Predicted vs true ($R^2$ = 1.000)'
    """
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    t = t[:, None] if t.ndim == 1 else t
    p = p[:, None] if p.ndim == 1 else p
    if t.ndim != 2 or t.shape != p.shape or t.shape[0] == 0:
        raise ValueError(
            "y_true and y_pred must be non-empty with the same shape (n,) or (n, K); "
            f"got {np.shape(y_true)} and {np.shape(y_pred)}."
        )
    r2 = metrics.r2(t, p)
    fig, ax = _figure_and_axes(ax, (5.0, 5.0))
    colours = _class_colours(t.shape[1])
    for k in range(t.shape[1]):
        label = f"output {k + 1}" if t.shape[1] > 1 else None
        ax.scatter(t[:, k], p[:, k], s=14, alpha=0.7, color=colours[k], label=label)
    lo = float(min(t.min(), p.min()))
    hi = float(max(t.max(), p.max()))
    margin = 0.05 * (hi - lo) if hi > lo else 0.5
    lo, hi = lo - margin, hi + margin
    ax.plot([lo, hi], [lo, hi], color="black", linestyle="--", linewidth=1, label="$y = x$")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("true $y$")
    ax.set_ylabel("predicted $f(x)$")
    ax.set_title(f"Predicted vs true ($R^2$ = {r2:.3f})")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig
