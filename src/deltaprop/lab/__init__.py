"""The lab: what batch gradient descent does to a network, measured.

:func:`hvp` multiplies the Hessian of the lecture's loss with a direction by
Pearlmutter's R-operator (one forward and one backward R-sweep, written out as the
rest of the core); :func:`hessian` builds it column by column for small networks;
:func:`sharpness` finds its top eigenvalues by Lanczos or power iteration; and
:func:`edge_of_stability` runs batch gradient descent for several learning rates and
records how the sharpness meets 2/eta (Cohen et al., ICLR 2021); :func:`lr_range_test`
is Smith's learning-rate range test (WACV 2017), which suggests the bounds of the
cyclical schedules of :mod:`deltaprop.schedules`; :func:`loss_slice`,
:func:`loss_surface`, :func:`interpolate` and :func:`project_trajectory` draw the loss
on lines and planes through trained parameters along filter-normalised directions
(Li et al., NeurIPS 2018).
"""

from deltaprop._api import publish
from deltaprop.lab._hvp import hessian, hvp
from deltaprop.lab._landscape import (
    LossSlice,
    LossSurface,
    Trajectory,
    filter_normalise,
    gd_trajectory,
    interpolate,
    loss_slice,
    loss_surface,
    project_trajectory,
    random_direction,
)
from deltaprop.lab._range_test import RangeTest, lr_range_test
from deltaprop.lab._second_derivatives import SECOND_DERIVATIVES, second_derivative
from deltaprop.lab._sharpness import sharpness
from deltaprop.lab._stability import EdgeOfStability, StabilityRun, edge_of_stability

__all__ = [
    "SECOND_DERIVATIVES",
    "EdgeOfStability",
    "LossSlice",
    "LossSurface",
    "RangeTest",
    "StabilityRun",
    "Trajectory",
    "edge_of_stability",
    "filter_normalise",
    "gd_trajectory",
    "hessian",
    "hvp",
    "interpolate",
    "loss_slice",
    "loss_surface",
    "lr_range_test",
    "project_trajectory",
    "random_direction",
    "second_derivative",
    "sharpness",
]

publish(__name__, EdgeOfStability, LossSlice, LossSurface, RangeTest, StabilityRun, Trajectory)
