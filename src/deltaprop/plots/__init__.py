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

from deltaprop.plots._common import save_figure
from deltaprop.plots._curves import (
    ACTIVATION_COLOURS,
    plot_activations,
    plot_gradient_norms,
    plot_loss_curves,
)
from deltaprop.plots._lab import (
    plot_edge_of_stability,
    plot_loss_slices,
    plot_loss_surface,
    plot_lr_range_test,
    plot_mistakes,
    plot_trajectory,
)
from deltaprop.plots._network import DIVERGING, ELLIPSIS, plot_network, plot_neuron_maps
from deltaprop.plots._predictions import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_decision_regions,
    plot_predicted_vs_true,
)

__all__ = [
    "ACTIVATION_COLOURS",
    "DIVERGING",
    "ELLIPSIS",
    "confusion_matrix",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_decision_regions",
    "plot_edge_of_stability",
    "plot_gradient_norms",
    "plot_loss_curves",
    "plot_loss_slices",
    "plot_loss_surface",
    "plot_lr_range_test",
    "plot_mistakes",
    "plot_network",
    "plot_neuron_maps",
    "plot_predicted_vs_true",
    "plot_trajectory",
    "save_figure",
]
