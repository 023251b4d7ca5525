"""Figures of the lecture's objects: activations, training curves, decision regions, units, weights.

Every function builds a :class:`matplotlib.figure.Figure` directly, never through
``pyplot``, so no window, backend or global figure state is touched: the plots
work headless (servers, CI) and are safe in threads.  matplotlib is imported
inside the functions, so ``import deltaprop.plots`` costs nothing without it.

Each ``plot_*`` function returns the Figure.  Pass ``ax=`` to draw into an axes
of your own figure instead (for :func:`plot_neuron_maps`, the axes' slot is split
into the grid of maps).  :func:`save_figure` writes a Figure as PNG.

Colours: red = sigmoid, blue = tanh, green = ReLU as on the slides; weights and
activations use one diverging map, red negative, white 0, blue positive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from deltaprop._checks import check_scalar
from deltaprop.activations import get_activation
from deltaprop.network import Network

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.gridspec import GridSpecBase

ACTIVATION_COLOURS = {"sigmoid": "red", "tanh": "blue", "relu": "green"}
_OTHER_COLOURS = ("tab:purple", "tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")
DIVERGING = "RdBu"  # red < 0 < blue, white at 0
ELLIPSIS = "⋮"


# ------------------------------------------------------------------ helpers
def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """A new constrained-layout figure with one axes, or ``ax`` and its (root) figure."""
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    return _root_figure(ax), ax


def _root_figure(ax: Axes) -> Figure:
    from matplotlib.figure import Figure

    fig: Any = ax.figure
    while not isinstance(fig, Figure):  # an axes in a SubFigure
        fig = fig.figure
    return fig


def _class_colours(n_colours: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    name = "tab10" if n_colours <= 10 else "tab20"
    cmap = colormaps[name]
    if n_colours <= cmap.N:
        return [cmap(i) for i in range(n_colours)]
    return [colormaps["hsv"](i / n_colours) for i in range(n_colours)]


def _as_labels(values: Any, name: str) -> NDArray[Any]:
    """Class labels (n,) from labels (n,) or from scores/one-hot rows (n, K) by argmax."""
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] > 1:
        return np.argmax(arr, axis=1)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(
            f"{name} must be non-empty labels of shape (n,) or scores of shape (n, K); got shape {arr.shape}."
        )
    return arr


def _check_points(X: Any, y: Any) -> tuple[NDArray[np.float64], NDArray[Any]]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (n, 2): two input features to plot. Got shape {X.shape}.")
    y = _as_labels(y, "y")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} labels but X has {X.shape[0]} rows.")
    return X, y


def _padded_extent(X: NDArray[np.float64], pad: float = 0.1) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) of the points, widened by ``pad`` of each range."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = np.where(hi > lo, pad * (hi - lo), 0.5)
    lo, hi = lo - margin, hi + margin
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def _grid(extent: Sequence[float], resolution: int) -> tuple[NDArray[np.float64], tuple[int, int]]:
    """The (resolution^2, 2) points of a regular grid over ``extent``, rows from bottom to top."""
    x_min, x_max, y_min, y_max = (float(v) for v in extent)
    xs = np.linspace(x_min, x_max, resolution)
    ys = np.linspace(y_min, y_max, resolution)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()]), (resolution, resolution)


def _check_extent(extent: Any) -> tuple[float, float, float, float]:
    values = np.asarray(extent, dtype=np.float64)
    if (
        values.shape != (4,)
        or not np.isfinite(values).all()
        or not (values[0] < values[1] and values[2] < values[3])
    ):
        raise ValueError(
            "The 'extent' parameter must be (x_min, x_max, y_min, y_max) with x_min < x_max and "
            f"y_min < y_max. Got {extent!r} instead."
        )
    return float(values[0]), float(values[1]), float(values[2]), float(values[3])


def _check_network(net: Any) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"The 'net' parameter must be a deltaprop Network. Got {type(net).__name__} instead.")
    return net


# ---------------------------------------------------------------- activations
def plot_activations(names: Sequence[str] = ("sigmoid", "tanh", "relu"), ax: Axes | None = None) -> Figure:
    """The lecture's figure: each sigma (solid) and its derivative sigma' (dashed) on a in [-3, 3].

    The values come from the :class:`~deltaprop.activations.Activation` records
    themselves, ``f(a)`` and ``df(a, f(a))``.  Sigmoid is red, tanh blue, ReLU green.

    Parameters
    ----------
    names : sequence of str or Activation, default ("sigmoid", "tanh", "relu")
        Any names :func:`~deltaprop.activations.get_activation` accepts.
    ax : matplotlib Axes, optional
        Draw here instead of in a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_activations()
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['sigmoid $\\\\sigma(a)$', "sigmoid $\\\\sigma'(a)$"]
    """
    if isinstance(names, str):
        names = (names,)
    activations = [get_activation(name, argument="names") for name in names]
    fig, ax = _figure_and_axes(ax, (6.4, 4.2))
    a = np.linspace(-3.0, 3.0, 601)
    others = iter(_OTHER_COLOURS * (1 + len(activations) // len(_OTHER_COLOURS)))
    for act in activations:
        colour = ACTIVATION_COLOURS.get(act.name) or next(others)
        z = act.f(a)
        ax.plot(a, z, color=colour, linestyle="-", linewidth=2, label=rf"{act.name} $\sigma(a)$")
        ax.plot(
            a, act.df(a, z), color=colour, linestyle="--", linewidth=1.5, label=rf"{act.name} $\sigma'(a)$"
        )
    ax.axhline(0.0, color="0.6", linewidth=0.8, zorder=0)
    ax.axvline(0.0, color="0.6", linewidth=0.8, zorder=0)
    ax.set_xlim(-3.0, 3.0)
    ax.set_xlabel("$a$")
    ax.set_title("Activations (solid) and their derivatives (dashed)")
    ax.legend(loc="upper left", fontsize="small", ncols=1)
    ax.grid(alpha=0.3)
    return fig


# ------------------------------------------------------------------- training
def _history_arrays(history: Any) -> tuple[NDArray[np.float64], NDArray[np.float64], int | None]:
    if hasattr(history, "loss"):
        loss = np.asarray(history.loss, dtype=np.float64)
        val_loss = np.asarray(getattr(history, "val_loss", None) or [], dtype=np.float64)
        best = getattr(history, "best_epoch", None)
    else:
        loss, val_loss, best = np.asarray(history, dtype=np.float64), np.empty(0), None
    if loss.ndim != 1 or loss.shape[0] == 0:
        raise ValueError(
            "The 'history' parameter must be a non-empty sequence of losses or have a 'loss' list; "
            f"got losses of shape {loss.shape}."
        )
    if best is not None:
        check_scalar(best, "best_epoch", low=0, integer=True)
    return loss, val_loss, best


def plot_loss_curves(history: Any, ax: Axes | None = None, logy: bool = False) -> Figure:
    """Training loss and, if recorded, validation loss per epoch.

    Parameters
    ----------
    history : History-like or sequence of float
        An object with ``loss`` (list of float per epoch), optionally ``val_loss``
        (may be empty) and ``best_epoch`` (int, 0-based, or None: marked by a
        vertical line); or a plain sequence of losses such as the array
        :func:`~deltaprop.train.gradient_descent` returns.
    ax : matplotlib Axes, optional
    logy : bool, default False
        A logarithmic loss axis.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_loss_curves([1.0, 0.5, 0.3, 0.25])
    >>> fig.axes[0].get_lines()[0].get_ydata().tolist()
    [1.0, 0.5, 0.3, 0.25]
    """
    loss, val_loss, best = _history_arrays(history)
    fig, ax = _figure_and_axes(ax, (6.4, 4.0))
    ax.plot(np.arange(loss.shape[0]), loss, color="tab:blue", label="training loss")
    if val_loss.shape[0]:
        ax.plot(np.arange(val_loss.shape[0]), val_loss, color="tab:orange", label="validation loss")
    if best is not None:
        ax.axvline(best, color="0.3", linestyle=":", label=f"best epoch ({best})")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Loss per epoch")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def plot_gradient_norms(history: Any, ax: Axes | None = None) -> Figure:
    """Per-layer gradient norms ||dL/dW^(h)|| over the epochs, on a log axis.

    Vanishing gradients show as the lower layers' lines falling decades below the
    upper ones'; exploding gradients as lines shooting up.

    Parameters
    ----------
    history : History-like or array of shape (epochs, D)
        An object with ``grad_norms``, a list over epochs of lists over the layers
        h = 1..D, or that nested list itself.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_gradient_norms([[1.0, 2.0], [0.5, 1.5], [0.1, 1.0]])
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['layer 1', 'layer 2']
    """
    norms = np.asarray(getattr(history, "grad_norms", history), dtype=np.float64)
    if norms.ndim != 2 or norms.size == 0:
        raise ValueError(
            "The gradient norms must be a non-empty list over epochs of lists over layers, shape "
            f"(epochs, D); got shape {norms.shape}."
        )
    fig, ax = _figure_and_axes(ax, (6.4, 4.0))
    epochs = np.arange(norms.shape[0])
    for h in range(1, norms.shape[1] + 1):
        ax.plot(epochs, norms[:, h - 1], label=f"layer {h}")
    if np.any(norms > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"$\|\partial L / \partial W^{(h)}\|$")
    ax.set_title("Gradient norm per layer")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return fig


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
    index = {label: i for i, label in enumerate(classes)}
    rows = np.array([index.get(label, -1) for label in y_true.tolist()])
    cols = np.array([index.get(label, -1) for label in y_pred.tolist()])
    kept = (rows >= 0) & (cols >= 0)
    counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(counts, (rows[kept], cols[kept]), 1)
    return counts


def plot_confusion_matrix(
    y_true: Any, y_pred: Any, labels: Sequence[Any] | None = None, ax: Axes | None = None
) -> Figure:
    """The confusion matrix as an image, each cell annotated with its count.

    Rows are the true classes, columns the predicted ones; see :func:`confusion_matrix`.

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
    fig, ax = _figure_and_axes(ax, (1.2 + 0.6 * max(K, 4), 1.0 + 0.6 * max(K, 4)))
    ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(int(counts.max()), 1))
    threshold = counts.max() / 2.0
    for i in range(K):
        for j in range(K):
            colour = "white" if counts[i, j] > threshold else "black"
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour)
    ax.set_xticks(range(K), names)
    ax.set_yticks(range(K), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = counts.sum()
    accuracy = np.trace(counts) / total if total else float("nan")
    ax.set_title(f"Confusion matrix (accuracy {accuracy:.3f})")
    return fig


# ---------------------------------------------------------------- regression
def _r2(y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> float:
    """R^2 = 1 - SS_res / SS_tot per output column, averaged (1 if perfect, else 0, when SS_tot = 0)."""
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    safe = np.where(ss_tot > 0, ss_tot, 1.0)
    scores = np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


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
    r2 = _r2(t, p)
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


# ---------------------------------------------------------- inside the network
def plot_neuron_maps(
    net: Network,
    X: Any = None,
    layer: int = 1,
    extent: Sequence[float] | None = None,
    resolution: int = 80,
    ax: Axes | None = None,
) -> Figure:
    """Each unit's activation z^(h)_m over the input plane, one small image per unit.

    As the TensorFlow Playground shows: for a network with 2 inputs, the forward
    pass runs on a grid of the plane and image m shows ``cache.z[h][:, m-1]``,
    the activation z^(h)_m of unit m of layer h.  All images share one colour
    scale (white = 0, blue > 0, red < 0).  ``layer = D`` shows the outputs f_k.

    Parameters
    ----------
    net : Network
        With ``net.sizes[0] == 2``.
    X : array of shape (n, 2), optional
        Data: drawn as small dots and, without ``extent``, sets the plane's range.
    layer : int, default 1
        The layer h in 1..D.
    extent : (x_min, x_max, y_min, y_max), optional
        The plane's range; default the data's (plus 10 %) or [-1.5, 1.5]^2.
    resolution : int, default 80
        Grid points per side.
    ax : matplotlib Axes, optional
        A subplot whose slot is split into the grid of maps (it is replaced).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> net = Network([2, 3, 2], activation="tanh", random_state=0)
    >>> fig = plot_neuron_maps(net, layer=1, resolution=10)
    >>> [image_ax.get_title() for image_ax in fig.axes if image_ax.images]
    ['$z^{(1)}_{1}$', '$z^{(1)}_{2}$', '$z^{(1)}_{3}$']
    """
    net = _check_network(net)
    if net.sizes[0] != 2:
        raise ValueError(
            f"plot_neuron_maps needs a network with 2 inputs (a plane); this one has {net.sizes[0]}."
        )
    check_scalar(layer, "layer", low=1, integer=True)
    if layer > net.D:
        raise ValueError(f"The 'layer' parameter must be in 1..{net.D} (the depth D). Got {layer} instead.")
    check_scalar(resolution, "resolution", low=2, integer=True)
    points = None if X is None else net.check_X(X)
    if extent is not None:
        box = _check_extent(extent)
    elif points is not None:
        box = _padded_extent(points.astype(np.float64))
    else:
        box = (-1.5, 1.5, -1.5, 1.5)

    grid, shape = _grid(box, resolution)
    z = net.forward(grid).z[layer]  # z^(h) on the grid, shape (resolution^2, M_h)
    M = z.shape[1]
    limit = float(np.max(np.abs(z))) or 1.0
    ncols = math.ceil(math.sqrt(M))
    nrows = math.ceil(M / ncols)

    from matplotlib.figure import Figure

    slots: GridSpecBase
    if ax is None:
        # Cells of the plane's aspect ratio: 1.8 inches wide, plus room for the titles.
        ratio = min(max((box[3] - box[2]) / (box[1] - box[0]), 0.4), 2.5)
        fig = Figure(figsize=(1.8 * ncols + 1.2, (1.8 * ratio + 0.4) * nrows + 0.5), layout="constrained")
        slots = fig.add_gridspec(nrows, ncols)
        fig.suptitle(f"Layer {layer}: activations $z^{{({layer})}}_m$ over the input plane")
    else:
        spec = ax.get_subplotspec()
        if spec is None:
            raise ValueError("The 'ax' parameter must be a subplot (made by add_subplot or subplots).")
        fig = _root_figure(ax)
        slots = spec.subgridspec(nrows, ncols)
        ax.remove()
    axes = []
    for m in range(1, M + 1):
        unit_ax = fig.add_subplot(slots[(m - 1) // ncols, (m - 1) % ncols])
        image = unit_ax.imshow(
            z[:, m - 1].reshape(shape),
            extent=box,
            origin="lower",
            cmap=DIVERGING,
            vmin=-limit,
            vmax=limit,
            interpolation="bilinear",
        )
        if points is not None:
            unit_ax.scatter(points[:, 0], points[:, 1], s=2, color="black", alpha=0.35, linewidths=0)
            unit_ax.set_xlim(box[0], box[1])
            unit_ax.set_ylim(box[2], box[3])
        unit_ax.set_title(f"$z^{{({layer})}}_{{{m}}}$", fontsize="medium")
        unit_ax.set_xticks([])
        unit_ax.set_yticks([])
        axes.append(unit_ax)
    fig.colorbar(image, ax=axes, shrink=0.8, label=f"$z^{{({layer})}}_m$")
    return fig


def _shown_units(M: int, max_units: int) -> list[int | None]:
    """Unit indices to draw: all, or the first few, None (the ellipsis) and the last."""
    if M <= max_units:
        return list(range(M))
    head = max(max_units // 2 - 1, 1)
    return [*range(head), None, M - 1]


def plot_network(net: Network, ax: Axes | None = None, max_units: int = 16) -> Figure:
    """A diagram of the network: units as circles per layer, edges coloured by weight.

    Edge (j -> m) into layer h has the colour of W^(h)_{m,j} on a diverging map
    (red < 0 < blue) and an opacity growing with |W^(h)_{m,j}|; units of layers
    1..D are filled with the colour of their bias b^(h)_m on the same scale, shown
    by the colorbar.  A layer wider than ``max_units`` is drawn as its first few
    units, an ellipsis and its last unit.

    Parameters
    ----------
    net : Network
    ax : matplotlib Axes, optional
    max_units : int, default 16
        The widest layer drawn in full.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_network(Network([2, 3, 2], random_state=0))
    >>> len(fig.axes[0].collections[0].get_segments())  # 2*3 + 3*2 edges
    12
    """
    net = _check_network(net)
    check_scalar(max_units, "max_units", low=3, integer=True)
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    sizes = net.sizes
    D = net.D
    shown = [_shown_units(M, max_units) for M in sizes]
    tallest = max(len(units) for units in shown)
    # y of slot s in a column of k slots: centred on 0, top to bottom.
    positions = [{u: (len(units) - 1) / 2 - s for s, u in enumerate(units)} for units in shown]

    scale = max(float(np.max(np.abs(p))) for p in [*net.W, *net.b] if p.size) or 1.0
    cmap = colormaps[DIVERGING]
    norm = Normalize(-scale, scale)

    segments, colours, widths = [], [], []
    for h in range(1, D + 1):
        W = net.W[h - 1]
        for m in positions[h]:
            for j in positions[h - 1]:
                if m is None or j is None:
                    continue
                w = float(W[m, j])
                segments.append([(h - 1, positions[h - 1][j]), (h, positions[h][m])])
                strength = abs(w) / scale
                colours.append((*cmap(norm(w))[:3], 0.15 + 0.85 * strength))
                widths.append(0.6 + 2.0 * strength)

    fig, ax = _figure_and_axes(ax, (1.8 * (D + 1) + 1.6, max(3.0, 0.42 * tallest + 1.4)))
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=widths, zorder=1))
    marker_size = 260 if tallest <= 10 else 140
    for h, units in enumerate(shown):
        drawn = [u for u in units if u is not None]
        ys = [positions[h][u] for u in drawn]
        face: Any = "0.85" if h == 0 else [cmap(norm(float(net.b[h - 1][u]))) for u in drawn]
        ax.scatter([h] * len(drawn), ys, s=marker_size, c=face, edgecolors="black", linewidths=1, zorder=2)
        if None in units:
            ax.text(h, positions[h][None], ELLIPSIS, ha="center", va="center", fontsize=16, zorder=3)

    names = [f"input\n$M_0$ = {sizes[0]}"]
    names += [f"hidden {h}\n$M_{h}$ = {sizes[h]}\n{net.activations[h - 1].name}" for h in range(1, D)]
    names.append(f"output\n$K$ = {sizes[D]}\n{net.output.name}")
    ax.set_xticks(range(D + 1), names)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlim(-0.4, D + 0.4)
    ax.set_ylim(-(tallest - 1) / 2 - 0.7, (tallest - 1) / 2 + 0.7)
    ax.set_title(f"Network {sizes}")
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="weight $W^{(h)}_{m,j}$ / bias $b^{(h)}_m$"
    )
    return fig


# ---------------------------------------------------------------------- files
def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` as a PNG file at ``path`` (which must end in .png); return the path.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = save_figure(plot_loss_curves([1.0, 0.5]), Path(folder) / "loss.png", dpi=50)
    ...     out.read_bytes()[:4]
    b'\\x89PNG'
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"save_figure writes PNG files; the path must end in .png. Got {str(path)!r}.")
    check_scalar(dpi, "dpi", low=1, integer=True)
    fig.savefig(path, dpi=dpi, format="png")
    return path
