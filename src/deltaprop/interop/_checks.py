"""The checks both halves of :mod:`deltaprop.interop` share: that an argument is a
:class:`~deltaprop.network.Network`, and the error that names a hidden layer whose
activation the other library does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deltaprop.activations import Activation, builtin_name
from deltaprop.network import Network


def unsupported(h: int, act: Activation, target: str, supported: Sequence[str]) -> ValueError:
    """The ValueError for hidden layer h, whose activation ``target`` does not have."""
    kind = "activation" if builtin_name(act) else "user-defined activation"
    return ValueError(
        f"Hidden layer {h} uses the {kind} {act.name!r}, which {target} does not have. "
        f"Use one of {list(supported)} for every hidden layer to convert this network."
    )


def check_network(net: Any) -> Network:
    """``net`` itself, or a TypeError unless it is a deltaprop Network."""
    if not isinstance(net, Network):
        raise TypeError(f"The 'net' parameter must be a deltaprop Network. Got {type(net).__name__} instead.")
    return net
