"""Optimisers as gradient transformations (after optax): ``init(params) -> state``,
``update(grads, state, params) -> (updates, state)``, composed with :func:`chain`.

The learning-rate schedules of :mod:`deltaprop.schedules` are importable from here too.
"""

from deltaprop._api import publish
from deltaprop._types import State
from deltaprop.optim._base import (
    AdamState,
    EmptyState,
    GradientTransformation,
    MomentumState,
    StepState,
    apply_updates,
    global_norm,
)
from deltaprop.optim._state import map_params, map_tree, state_from_arrays, state_to_arrays
from deltaprop.optim._transforms import adam, adamw, by_name, chain, clip_by_global_norm, gd, momentum
from deltaprop.schedules import (
    LearningRate,
    ReduceOnPlateau,
    Schedule,
    constant,
    cosine_decay,
    exp_range,
    get_lr,
    inverse_scaling,
    step_decay,
    triangular,
    triangular2,
)

__all__ = [
    "AdamState",
    "EmptyState",
    "GradientTransformation",
    "LearningRate",
    "MomentumState",
    "ReduceOnPlateau",
    "Schedule",
    "State",
    "StepState",
    "adam",
    "adamw",
    "apply_updates",
    "by_name",
    "chain",
    "clip_by_global_norm",
    "constant",
    "cosine_decay",
    "exp_range",
    "gd",
    "get_lr",
    "global_norm",
    "inverse_scaling",
    "map_params",
    "map_tree",
    "momentum",
    "state_from_arrays",
    "state_to_arrays",
    "step_decay",
    "triangular",
    "triangular2",
]

publish(__name__, AdamState, EmptyState, GradientTransformation, MomentumState, StepState)
