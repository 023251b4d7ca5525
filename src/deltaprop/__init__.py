"""deltaprop: feedforward networks trained by gradient descent with explicit backpropagation."""

from typing import Any

from deltaprop._types import Grads, Params
from deltaprop._version import __version__
from deltaprop.activations import Activation, get_activation
from deltaprop.checkpoint import Checkpoint, Checkpointer, load_checkpoint, save_checkpoint
from deltaprop.explain import Trace, trace
from deltaprop.gradcheck import GradientReport, check_gradients
from deltaprop.interop import (
    from_sklearn,
    from_torch_state_dict,
    to_sklearn,
    to_torch_module,
    to_torch_state_dict,
)
from deltaprop.losses import OutputLoss, get_output
from deltaprop.modelfile import ModelFile, ModelFileError, load, load_file, save
from deltaprop.network import Cache, Network
from deltaprop.optim import (
    GradientTransformation,
    adam,
    adamw,
    apply_updates,
    chain,
    clip_by_global_norm,
    gd,
    momentum,
)
from deltaprop.schedules import (
    ReduceOnPlateau,
    constant,
    cosine_decay,
    exp_range,
    inverse_scaling,
    step_decay,
    triangular,
    triangular2,
)
from deltaprop.train import Callback, DivergenceError, History, Trainer, fit, gradient_descent

__all__ = [
    "Activation",
    "Cache",
    "Callback",
    "Checkpoint",
    "Checkpointer",
    "DivergenceError",
    "GradientReport",
    "GradientTransformation",
    "Grads",
    "History",
    "MLPClassifier",
    "MLPRegressor",
    "ModelFile",
    "ModelFileError",
    "Network",
    "OutputLoss",
    "Params",
    "ReduceOnPlateau",
    "Trace",
    "Trainer",
    "__version__",
    "adam",
    "adamw",
    "apply_updates",
    "chain",
    "check_gradients",
    "clip_by_global_norm",
    "constant",
    "cosine_decay",
    "exp_range",
    "fit",
    "from_sklearn",
    "from_torch_state_dict",
    "gd",
    "get_activation",
    "get_output",
    "gradient_descent",
    "inverse_scaling",
    "load",
    "load_checkpoint",
    "load_file",
    "momentum",
    "save",
    "save_checkpoint",
    "step_decay",
    "to_sklearn",
    "to_torch_module",
    "to_torch_state_dict",
    "trace",
    "triangular",
    "triangular2",
]


def __getattr__(name: str) -> Any:
    # The estimators need scikit-learn (the "sklearn" extra); import them on first use
    # so that the NumPy-only core never requires it.
    if name in ("MLPClassifier", "MLPRegressor"):
        from deltaprop import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'deltaprop' has no attribute {name!r}")
