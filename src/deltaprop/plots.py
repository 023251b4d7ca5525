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

from pathlib import Path
from typing import TYPE_CHECKING

from deltaprop._checks import check_scalar
from deltaprop._plots_curves import (
    ACTIVATION_COLOURS,
    plot_activations,
    plot_gradient_norms,
    plot_loss_curves,
)
from deltaprop._plots_network import DIVERGING, ELLIPSIS, plot_network, plot_neuron_maps
from deltaprop._plots_predictions import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_decision_regions,
    plot_predicted_vs_true,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ACTIVATION_COLOURS",
    "DIVERGING",
    "ELLIPSIS",
    "confusion_matrix",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_decision_regions",
    "plot_gradient_norms",
    "plot_loss_curves",
    "plot_network",
    "plot_neuron_maps",
    "plot_predicted_vs_true",
    "save_figure",
]


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
