"""Curves: the activations sigma and sigma' of the lecture, and the loss and gradient norms per epoch.

Line plots of functions of one variable: :func:`plot_activations` draws each
activation record's value and derivative, :func:`plot_loss_curves` and
:func:`plot_gradient_norms` what a :class:`~deltaprop.train.History` recorded per
epoch.  Re-exported by :mod:`deltaprop.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from deltaprop._checks import check_scalar
from deltaprop.activations import get_activation
from deltaprop.plots._common import _figure_and_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ACTIVATION_COLOURS = {"sigmoid": "red", "tanh": "blue", "relu": "green"}
_OTHER_COLOURS = ("tab:purple", "tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")


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
