"""deltaprop: feedforward networks trained by gradient descent with explicit backpropagation.

The names below are imported on first use (PEP 562): ``import deltaprop`` and
``from deltaprop import Network`` load only what they need, so a script or the command
line starts without the modules it does not use (the estimators need scikit-learn, the
"sklearn" extra, and load it only then).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from deltaprop._version import __version__

if TYPE_CHECKING:
    from deltaprop._types import Grads, Params
    from deltaprop.activations import Activation, get_activation
    from deltaprop.checkpoint import Checkpoint, Checkpointer, load_checkpoint, save_checkpoint
    from deltaprop.estimators import MLPClassifier, MLPRegressor
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

# where each public name lives
_HOMES = {
    "Activation": "deltaprop.activations",
    "Cache": "deltaprop.network",
    "Callback": "deltaprop.train",
    "Checkpoint": "deltaprop.checkpoint",
    "Checkpointer": "deltaprop.checkpoint",
    "DivergenceError": "deltaprop.train",
    "GradientReport": "deltaprop.gradcheck",
    "GradientTransformation": "deltaprop.optim",
    "Grads": "deltaprop._types",
    "History": "deltaprop.train",
    "ModelFile": "deltaprop.modelfile",
    "ModelFileError": "deltaprop.modelfile",
    "Network": "deltaprop.network",
    "OutputLoss": "deltaprop.losses",
    "Params": "deltaprop._types",
    "ReduceOnPlateau": "deltaprop.schedules",
    "Trace": "deltaprop.explain",
    "Trainer": "deltaprop.train",
    "adam": "deltaprop.optim",
    "adamw": "deltaprop.optim",
    "apply_updates": "deltaprop.optim",
    "chain": "deltaprop.optim",
    "check_gradients": "deltaprop.gradcheck",
    "clip_by_global_norm": "deltaprop.optim",
    "constant": "deltaprop.schedules",
    "cosine_decay": "deltaprop.schedules",
    "exp_range": "deltaprop.schedules",
    "fit": "deltaprop.train",
    "from_sklearn": "deltaprop.interop",
    "from_torch_state_dict": "deltaprop.interop",
    "gd": "deltaprop.optim",
    "get_activation": "deltaprop.activations",
    "get_output": "deltaprop.losses",
    "gradient_descent": "deltaprop.train",
    "inverse_scaling": "deltaprop.schedules",
    "load": "deltaprop.modelfile",
    "load_checkpoint": "deltaprop.checkpoint",
    "load_file": "deltaprop.modelfile",
    "momentum": "deltaprop.optim",
    "save": "deltaprop.modelfile",
    "save_checkpoint": "deltaprop.checkpoint",
    "step_decay": "deltaprop.schedules",
    "to_sklearn": "deltaprop.interop",
    "to_torch_module": "deltaprop.interop",
    "to_torch_state_dict": "deltaprop.interop",
    "trace": "deltaprop.explain",
    "triangular": "deltaprop.schedules",
    "triangular2": "deltaprop.schedules",
    "MLPClassifier": "deltaprop.estimators",
    "MLPRegressor": "deltaprop.estimators",
}

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
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'deltaprop' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup finds it without this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
