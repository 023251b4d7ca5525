"""What the figures of :mod:`deltaprop.plots` share: figure and axes, class colours, labels, grids.

A plot draws into a new constrained-layout :class:`~matplotlib.figure.Figure` or into
the caller's axes; class labels come from labels or from score rows by argmax; and
the images over the input plane are evaluated on a regular grid over a padded range
of the data.  matplotlib is imported inside the functions only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from deltaprop._checks import check_scalar

# Past this many classes a figure stops writing a count, a tick label or a legend entry per
# class (1,000 classes would be a million text objects): it shows the image alone, at a size
# that stays bounded, and says so in its title.
MAX_LABELLED_CLASSES = 30

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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


def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` as a PNG file at ``path`` (which must end in .png); return the path.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from deltaprop.plots import plot_loss_curves
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
