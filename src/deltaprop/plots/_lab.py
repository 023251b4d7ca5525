"""Figures of :mod:`deltaprop.lab`: the edge of stability, the range test and loss landscapes.

:func:`plot_edge_of_stability` draws what :func:`deltaprop.lab.edge_of_stability`
measured, as Cohen et al. (ICLR 2021) show it: the training loss per step on the
left, the sharpness against its 2/eta line (dashed, the same colour) on the right,
one colour per learning rate.  A 2/eta far above every measured sharpness (a small
eta that never reaches it) is named at the top of the panel instead of being drawn to
scale.  :func:`plot_lr_range_test` draws Smith's range test: the loss and the score
against eta, with the suggested range shaded.  :func:`plot_loss_slices`,
:func:`plot_loss_surface` and :func:`plot_trajectory` draw the landscapes of Li et al.
(NeurIPS 2018): lines of the loss, contours of log10 of the loss on a plane, and the
path of gradient descent on the plane of its principal directions.  Re-exported by
:mod:`deltaprop.plots`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop.lab import EdgeOfStability, LossSlice, LossSurface, RangeTest, Trajectory
from deltaprop.plots._common import _figure_and_axes, _root_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.gridspec import GridSpecBase


def _two_slots(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, GridSpecBase]:
    """A new figure with a 1 x 2 grid, or ``ax``'s slot split in two (``ax`` is removed)."""
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_gridspec(1, 2)
    spec = ax.get_subplotspec()
    if spec is None:
        raise ValueError("The 'ax' parameter must be a subplot (made by add_subplot or subplots).")
    fig = _root_figure(ax)
    ax.remove()
    return fig, spec.subgridspec(1, 2)


def plot_edge_of_stability(result: Any, ax: Axes | None = None, logy: bool = True) -> Figure:
    """Training loss and sharpness per step, with each learning rate's 2/eta line.

    A 2/eta more than 1.5 times the highest measured sharpness is named in the
    panel's top-left corner rather than drawn to scale.

    Parameters
    ----------
    result : EdgeOfStability
        What :func:`deltaprop.lab.edge_of_stability` returned.
    ax : matplotlib Axes, optional
        A subplot whose slot is split into the two panels (it is replaced).
    logy : bool, default True
        A logarithmic loss axis.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the loss (left) and the sharpness with dashed 2/eta lines (right).

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> from deltaprop.lab import edge_of_stability
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> net = Network([2, 4, 1], activation="tanh", output="identity", random_state=0)
    >>> result = edge_of_stability(net, X, X[:, :1], lrs=[0.5], steps=10, every=5)
    >>> fig = plot_edge_of_stability(result)
    >>> [axes.get_ylabel() for axes in fig.axes]
    ['training loss', 'sharpness $\\\\lambda_{max}$']
    """
    if not isinstance(result, EdgeOfStability):
        raise TypeError(
            "The 'result' parameter must be what deltaprop.lab.edge_of_stability returns. "
            f"Got {type(result).__name__} instead."
        )
    fig, slots = _two_slots(ax, (11.0, 4.2))
    loss_ax = fig.add_subplot(slots[0, 0])
    sharp_ax = fig.add_subplot(slots[0, 1])
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for i, run in enumerate(result.runs):
        colour = cmap(i % cmap.N)
        label = rf"$\eta$ = {run.lr:.4g}"
        steps = np.arange(run.losses.shape[0])
        loss_ax.plot(steps, run.losses, color=colour, linewidth=1.0, label=label)
        sharp_ax.plot(run.steps, run.sharpness, color=colour, linewidth=1.5, label=label)
        sharp_ax.axhline(run.threshold, color=colour, linestyle="--", linewidth=1.0)  # clipped off the scale
        if run.diverged_at is not None:
            loss_ax.axvline(run.diverged_at, color=colour, linestyle=":", linewidth=1.0)
    if logy:
        loss_ax.set_yscale("log")
    loss_ax.set_xlabel("step $t$")
    loss_ax.set_ylabel("training loss")
    loss_ax.set_title("Loss of full-batch gradient descent")
    loss_ax.legend(fontsize="small")
    loss_ax.grid(alpha=0.3, which="both")
    # A small eta's 2/eta can lie far above every measured sharpness: such lines are not
    # drawn to scale (the curves would be squashed flat) but named at the top of the panel.
    finite = [float(v) for run in result.runs for v in run.sharpness[np.isfinite(run.sharpness)]]
    highest = max(finite, default=0.0)
    shown = [run.threshold for run in result.runs if run.threshold <= 1.5 * highest or not finite]
    sharp_ax.set_ylim(0.0, 1.1 * max([highest, *shown]))
    above = [(i, run) for i, run in enumerate(result.runs) if run.threshold not in shown]
    for row, (i, run) in enumerate(above):
        sharp_ax.annotate(
            rf"$2/\eta$ = {run.threshold:.4g} (off the scale)",
            xy=(0.02, 0.97 - 0.07 * row),
            xycoords="axes fraction",
            va="top",
            color=cmap(i % cmap.N),
            fontsize="small",
        )
    sharp_ax.set_xlabel("step $t$")
    sharp_ax.set_ylabel(r"sharpness $\lambda_{max}$")
    sharp_ax.set_title(r"Sharpness and $2/\eta$ (dashed)")
    sharp_ax.legend(fontsize="small")
    sharp_ax.grid(alpha=0.3)
    return fig


def plot_lr_range_test(result: Any, ax: Axes | None = None) -> Figure:
    """Smith's learning-rate range test: loss and score against eta, the suggested range shaded.

    The eta axis is logarithmic when eta grew by more than a factor of 10.

    Parameters
    ----------
    result : RangeTest
        What :func:`deltaprop.lab.lr_range_test` returned.
    ax : matplotlib Axes, optional
        A subplot whose slot is split into the two panels (it is replaced).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the batch loss with its smoothed curve (left), the batch score (right).

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> from deltaprop.lab import lr_range_test
    >>> X = np.random.default_rng(0).normal(size=(128, 3))
    >>> net = Network([3, 1], output="identity", random_state=0)
    >>> result = lr_range_test(net, X, X[:, :1] - X[:, 1:2], lr_min=1e-3, epochs=4, random_state=0)
    >>> fig = plot_lr_range_test(result)
    >>> [axes.get_xscale() for axes in fig.axes]
    ['log', 'log']
    """
    if not isinstance(result, RangeTest):
        raise TypeError(
            "The 'result' parameter must be what deltaprop.lab.lr_range_test returns. "
            f"Got {type(result).__name__} instead."
        )
    fig, slots = _two_slots(ax, (11.0, 4.0))
    loss_ax = fig.add_subplot(slots[0, 0])
    score_ax = fig.add_subplot(slots[0, 1], sharex=loss_ax)
    finite = result.loss[np.isfinite(result.loss)]
    loss_ax.plot(result.lr, result.loss, color="tab:blue", alpha=0.35, linewidth=0.8, label="batch loss")
    loss_ax.plot(result.lr, result.smoothed, color="tab:blue", linewidth=2.0, label="smoothed")
    score_ax.plot(result.lr, result.score, color="tab:green", linewidth=1.0, label="batch score")
    suggested = np.isfinite(result.base_lr) and np.isfinite(result.max_lr)
    for panel in (loss_ax, score_ax):
        if suggested:
            panel.axvspan(
                result.base_lr,
                result.max_lr,
                color="tab:orange",
                alpha=0.2,
                label=f"suggested [{result.base_lr:.3g}, {result.max_lr:.3g}]",
            )
        panel.set_xlabel(r"learning rate $\eta$")
        panel.grid(alpha=0.3, which="both")
        panel.legend(fontsize="small")
    if result.lr[-1] > 10 * result.lr[0]:
        loss_ax.set_xscale("log")
    if finite.size:
        # The blow-up at the end would flatten the curve: clip the view at 1.5 x the first losses.
        loss_ax.set_ylim(0.0, 1.5 * float(max(result.smoothed[0], finite[0])))
    loss_ax.set_ylabel("training loss")
    loss_ax.set_title("Loss while the learning rate grows")
    scores = result.score[np.isfinite(result.score)]
    if scores.size:
        # Accuracy lies in [0, 1]; R^2 <= 1 can start far below 0: show it from -1 up.
        score_ax.set_ylim(max(float(scores.min()), -1.0) - 0.05, 1.05)
    score_ax.set_ylabel("accuracy or $R^2$ of the batch")
    score_ax.set_title("Score while the learning rate grows")
    return fig


def plot_loss_slices(slices: Any, labels: Any = None, ax: Axes | None = None, logy: bool = False) -> Figure:
    """The loss along lines through parameter space: one curve per slice.

    Parameters
    ----------
    slices : LossSlice or sequence of them
        What :func:`deltaprop.lab.loss_slice` or :func:`deltaprop.lab.interpolate` returned.
    labels : sequence of str, optional
        One legend entry per slice (default: the slice's kind and number).
    ax : matplotlib Axes, optional
    logy : bool, default False
        A logarithmic loss axis.

    Returns
    -------
    matplotlib.figure.Figure
        alpha on the x axis; for an interpolation, dotted lines mark alpha = 0 and 1.

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> from deltaprop.lab import loss_slice
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> net = Network([2, 4, 1], activation="tanh", output="identity", random_state=0)
    >>> fig = plot_loss_slices(loss_slice(net, X, X[:, :1], random_state=0))
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['random direction 1']
    """
    items = [slices] if isinstance(slices, LossSlice) else list(slices)
    if not items or not all(isinstance(item, LossSlice) for item in items):
        raise TypeError(
            "The 'slices' parameter must be what deltaprop.lab.loss_slice or interpolate returns, or a "
            "list of them."
        )
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"Got {len(labels)} labels for {len(items)} slices; give one label per slice.")
    fig, axes = _figure_and_axes(ax, (6.4, 4.2))
    interpolation = False
    for i, item in enumerate(items):
        label = labels[i] if labels is not None else f"{item.kind} {i + 1}"
        axes.plot(item.alphas, np.where(np.isfinite(item.losses), item.losses, np.nan), label=label)
        interpolation |= item.kind == "interpolation"
    if interpolation:
        for end in (0.0, 1.0):
            axes.axvline(end, color="grey", linestyle=":", linewidth=1.0)
        axes.set_xlabel(r"$\alpha$ in $(1-\alpha)\,\theta_A + \alpha\,\theta_B$")
    else:
        axes.axvline(0.0, color="grey", linestyle=":", linewidth=1.0)
        axes.set_xlabel(r"$\alpha$ in $\theta^* + \alpha\, d$ (filter-normalised $d$)")
    if logy:
        axes.set_yscale("log")
    axes.set_ylabel("training loss")
    axes.set_title("Loss along lines through parameter space")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize="small")
    return fig


def _log_losses(losses: Any) -> Any:
    """log10 of the losses, non-finite values (overflow far out) set to the largest finite one."""
    finite = losses[np.isfinite(losses)]
    top = float(finite.max()) if finite.size else 1.0
    return np.log10(np.maximum(np.where(np.isfinite(losses), losses, top), 1e-300))


def _contours(axes: Axes, surface: LossSurface, levels: int) -> None:
    from matplotlib import colormaps

    values = _log_losses(surface.losses)
    filled = axes.contourf(surface.alphas, surface.betas, values, levels=levels, cmap=colormaps["viridis"])
    axes.contour(
        surface.alphas,
        surface.betas,
        values,
        levels=levels,
        colors="white",
        linewidths=0.4,
        negative_linestyles="solid",
    )
    _root_figure(axes).colorbar(filled, ax=axes, label=r"$\log_{10}$ training loss")


def plot_loss_surface(surface: Any, ax: Axes | None = None, levels: int = 20) -> Figure:
    """Contours of log10 of the loss on a plane through the trained parameters.

    Parameters
    ----------
    surface : LossSurface
        What :func:`deltaprop.lab.loss_surface` returned.
    ax : matplotlib Axes, optional
    levels : int, default 20
        The number of contour levels.

    Returns
    -------
    matplotlib.figure.Figure
        Filled contours with a colour bar; a star marks theta* at (0, 0).

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> from deltaprop.lab import loss_surface
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> net = Network([2, 4, 1], activation="tanh", output="identity", random_state=0)
    >>> grid = np.linspace(-1, 1, 7)
    >>> fig = plot_loss_surface(loss_surface(net, X, X[:, :1], alphas=grid, betas=grid, random_state=0))
    >>> fig.axes[0].get_xlabel()
    '$\\\\alpha$ along $d_1$'
    """
    if not isinstance(surface, LossSurface):
        raise TypeError(
            "The 'surface' parameter must be what deltaprop.lab.loss_surface returns. "
            f"Got {type(surface).__name__} instead."
        )
    fig, axes = _figure_and_axes(ax, (6.0, 5.0))
    _contours(axes, surface, levels)
    axes.plot([0.0], [0.0], marker="*", color="red", markersize=12, linestyle="none", label=r"$\theta^*$")
    axes.set_xlabel(r"$\alpha$ along $d_1$")
    axes.set_ylabel(r"$\beta$ along $d_2$")
    axes.set_title("Loss around the trained point (filter-normalised directions)")
    axes.legend(fontsize="small", loc="upper right")
    return fig


def plot_trajectory(trajectory: Any, ax: Axes | None = None, levels: int = 20) -> Figure:
    """The path of gradient descent on the plane of its two principal directions.

    Parameters
    ----------
    trajectory : Trajectory
        What :func:`deltaprop.lab.project_trajectory` returned (with X and Y, for the contours).
    ax : matplotlib Axes, optional
    levels : int, default 20

    Returns
    -------
    matplotlib.figure.Figure
        The loss's contours on the plane (if measured) and the path from its start (circle)
        to its end theta_T (star); each axis names the share of the path it explains.

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> from deltaprop.lab import gd_trajectory, project_trajectory
    >>> X = np.random.default_rng(0).normal(size=(30, 2))
    >>> net = Network([2, 4, 1], activation="tanh", output="identity", random_state=0)
    >>> thetas, _ = gd_trajectory(net, X, X[:, :1] * X[:, 1:], lr=0.5, steps=40, every=4)
    >>> fig = plot_trajectory(project_trajectory(net, thetas, X, X[:, :1] * X[:, 1:], grid=9))
    >>> fig.axes[0].get_xlabel().startswith("1st principal direction")
    True
    """
    if not isinstance(trajectory, Trajectory):
        raise TypeError(
            "The 'trajectory' parameter must be what deltaprop.lab.project_trajectory returns. "
            f"Got {type(trajectory).__name__} instead."
        )
    fig, axes = _figure_and_axes(ax, (6.0, 5.0))
    if trajectory.surface is not None:
        _contours(axes, trajectory.surface, levels)
    x, y = trajectory.coords[:, 0], trajectory.coords[:, 1]
    axes.plot(x, y, color="red", marker=".", markersize=4, linewidth=1.2, label="gradient descent")
    axes.plot(x[:1], y[:1], marker="o", color="red", linestyle="none", label=r"start $\theta_0$")
    axes.plot(
        x[-1:], y[-1:], marker="*", color="red", markersize=12, linestyle="none", label=r"end $\theta_T$"
    )
    first, second = (100.0 * float(share) for share in trajectory.explained)
    axes.set_xlabel(f"1st principal direction ({first:.1f} % of the path)")
    axes.set_ylabel(f"2nd principal direction ({second:.1f} % of the path)")
    axes.set_title("Gradient descent on the plane of its principal directions")
    axes.legend(fontsize="small", loc="lower right")
    return fig


def plot_mistakes(problem: Any, ax: Axes | None = None) -> Figure:
    """Which quantities of a backpropagation exercise each common mistake changes, and by how much.

    One row per mistake of :data:`deltaprop.exercises.MISTAKES`, one column per quantity
    (a1, z1, ..., delta1, dW1, ..., W1_new, ...); the colour is log10 of the relative error
    ||wrong - right|| / ||right|| of the answer of a student who makes that mistake, blank
    where the quantity is unchanged.  Mistakes whose rows differ are told apart by the grader.

    Parameters
    ----------
    problem : deltaprop.exercises.Problem
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from deltaprop.exercises import make_problem
    >>> fig = plot_mistakes(make_problem(depth=2, activation="relu", batch=2))
    >>> fig.axes[0].get_xticklabels()[0].get_text()
    'a1'
    """
    from matplotlib import colormaps

    from deltaprop.exercises import MISTAKES, Problem, solve

    if not isinstance(problem, Problem):
        raise TypeError(
            "The 'problem' parameter must be a deltaprop.exercises.Problem (make_problem returns one). "
            f"Got {type(problem).__name__} instead."
        )
    right = solve(problem).quantities()
    keys = list(MISTAKES)
    errors = np.full((len(keys), len(right)), np.nan)
    for i, key in enumerate(keys):
        wrong = solve(problem, [key]).quantities()
        for j, name in enumerate(right):
            gap = float(np.linalg.norm(wrong[name] - right[name]))
            if gap > 1e-12 * max(1.0, float(np.linalg.norm(right[name]))):
                errors[i, j] = np.log10(gap / max(float(np.linalg.norm(right[name])), 1e-300))
    fig, axes = _figure_and_axes(ax, (0.42 * len(right) + 4.0, 0.42 * len(keys) + 1.8))
    image = axes.imshow(errors, cmap=colormaps["magma_r"], aspect="auto", vmin=-4.0, vmax=1.0)
    axes.set_xticks(range(len(right)), list(right), rotation=60, ha="right", fontsize="small")
    labels = [MISTAKES[key].name + (" (diagonal)" if key.endswith("_diagonal") else "") for key in keys]
    axes.set_yticks(range(len(keys)), labels, fontsize="small")
    axes.set_title(
        f"What each mistake changes (D = {problem.depth}, {problem.activation}, {problem.output}, "
        f"n = {problem.n}); blank: unchanged",
        fontsize="medium",
    )
    _root_figure(axes).colorbar(image, ax=axes, label=r"$\log_{10}$ relative error")
    return fig
