"""Conversions to and from scikit-learn's MLP and PyTorch's Linear layers.

The same parameters W^(h), b^(h) in three layouts:

    deltaprop          W[h-1]               W^(h)    (M_h, M_{h-1})    b[h-1] = b^(h)             (M_h,)
    scikit-learn MLP   coefs_[h-1]          W^(h)^T  (M_{h-1}, M_h)    intercepts_[h-1] = b^(h)   (M_h,)
    PyTorch Linear     "<prefix>.weight"    W^(h)    (M_h, M_{h-1})    "<prefix>.bias" = b^(h)    (M_h,)

scikit-learn multiplies rows by its coefficients, a = z @ coefs_ + b, so it stores
the transposes; PyTorch's ``nn.Linear`` computes a = z @ weight.T + bias and keeps
the slides' orientation, as deltaprop does.

In an ``nn.Sequential`` that alternates Linear layers and activations, the Linear
layer of W^(h) sits at position 2 (h - 1): its keys are ``"0.weight"``,
``"0.bias"``, ``"2.weight"``, ... and the odd positions hold the parameter-free
activations.  That is what ``prefix_style="sequential"`` reads and writes.

Neither scikit-learn nor PyTorch is imported until a function needs it; PyTorch is
not a dependency of deltaprop at all.
"""

from __future__ import annotations

from deltaprop.interop._sklearn import SKLEARN_ACTIVATIONS, SKLEARN_OUTPUTS, from_sklearn, to_sklearn
from deltaprop.interop._torch import (
    Array,
    PrefixStyle,
    from_torch_state_dict,
    to_torch_module,
    to_torch_state_dict,
)

__all__ = [
    "SKLEARN_ACTIVATIONS",
    "SKLEARN_OUTPUTS",
    "Array",
    "PrefixStyle",
    "from_sklearn",
    "from_torch_state_dict",
    "to_sklearn",
    "to_torch_module",
    "to_torch_state_dict",
]
