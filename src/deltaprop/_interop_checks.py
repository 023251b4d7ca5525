"""The checks both halves of :mod:`deltaprop.interop` share: that an argument is a
:class:`~deltaprop.network.Network`, whether its activations and output unit are
deltaprop's built-in ones (only those have counterparts in scikit-learn and PyTorch),
and the error that names a hidden layer whose activation the other library lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deltaprop.activations import ACTIVATIONS, Activation
from deltaprop.losses import OUTPUTS, OutputLoss
from deltaprop.network import Network


def builtin_activation(act: Activation) -> str | None:
    """The name of a built-in activation, or None for a user-defined one."""
    return act.name if ACTIVATIONS.get(act.name) == act else None


def builtin_output(output: OutputLoss) -> str | None:
    """The name of a built-in output unit, or None for a user-defined one."""
    return output.name if OUTPUTS.get(output.name) == output else None


def unsupported(h: int, act: Activation, target: str, supported: Sequence[str]) -> ValueError:
    """The ValueError for hidden layer h, whose activation ``target`` does not have."""
    kind = "activation" if builtin_activation(act) else "user-defined activation"
    return ValueError(
        f"Hidden layer {h} uses the {kind} {act.name!r}, which {target} does not have. "
        f"Use one of {list(supported)} for every hidden layer to convert this network."
    )


def check_network(net: Any) -> Network:
    """``net`` itself, or a TypeError unless it is a deltaprop Network."""
    if not isinstance(net, Network):
        raise TypeError(f"The 'net' parameter must be a deltaprop Network. Got {type(net).__name__} instead.")
    return net
