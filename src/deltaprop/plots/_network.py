"""Inside the network: each unit's activation over the input plane, and the diagram of units and weights.

:func:`plot_neuron_maps` runs the forward pass on a grid of the plane and shows
z^(h)_m of every unit m of a layer h; :func:`plot_network` draws the units per layer
with edges coloured by W^(h) and units by b^(h).  Both use one diverging map, red
negative, white 0, blue positive.  Re-exported by :mod:`deltaprop.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop._checks import check_scalar
from deltaprop.network import Network
from deltaprop.plots._common import _figure_and_axes, _grid, _padded_extent, _root_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.gridspec import GridSpecBase

DIVERGING = "RdBu"  # red < 0 < blue, white at 0
ELLIPSIS = "⋮"


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


MAX_NEURON_MAPS = 64


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
    A layer wider than ``MAX_NEURON_MAPS`` (64) shows its first 64 units, and says so.

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
    M_h = z.shape[1]
    M = min(M_h, MAX_NEURON_MAPS)  # the first units only: a map per unit of a wide layer is unreadable
    z = z[:, :M]
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
        shown = "" if M == M_h else f" (the first {M} of {M_h} units)"
        fig.suptitle(f"Layer {layer}: activations $z^{{({layer})}}_m$ over the input plane{shown}")
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
