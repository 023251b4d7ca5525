"""Activation functions, each stored beside its derivative.

The lecture's hidden units compute z = sigma(a) element-wise, and sigma enters the
gradient only through sigma'(a).  An :class:`Activation` is one immutable record
holding both, with one signature for every activation::

    f(a)     -> z
    df(a, z) -> sigma'(a)        (z = f(a) is passed so that sigma' can reuse it)

Passing ``z`` is what makes the derivatives cheap: sigmoid' = z (1 - z) and
tanh' = 1 - z^2 need no second exponential.  A user-defined derivative may ignore
``z`` and compute from ``a`` alone; f and df are all an activation needs, on every
path that trains a network.

| name         | sigma(a)                                  | sigma'(a)                        |
|--------------|-------------------------------------------|----------------------------------|
| identity     | a                                         | 1                                |
| sigmoid      | 1 / (1 + e^{-a})                          | sigma(a) (1 - sigma(a))          |
| tanh         | tanh(a)                                   | 1 - tanh(a)^2                    |
| relu         | max(a, 0)                                 | 0 for a <= 0, 1 for a > 0        |
| leaky_relu   | a for a > 0, 0.01 a otherwise             | 1 for a > 0, 0.01 otherwise      |
| softplus     | log(1 + e^a)                              | sigmoid(a)                       |
| gelu         | tanh approximation, see :func:`_gelu`     | its exact derivative             |

ReLU'(0) is undefined; like the lecture we use the weak derivative, 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from deltaprop._types import Array

ActivationFn = Callable[[Array], Array]
DerivativeFn = Callable[[Array, Array], Array]

LEAKY_RELU_SLOPE = 0.01
_GELU_C = float(np.sqrt(2.0 / np.pi))
_GELU_K = 0.044715


class Activation(NamedTuple):
    """An activation sigma and its derivative sigma', with one signature for all.

    Parameters
    ----------
    name : str
        The name used in error messages, model files and plots.
    f : callable
        ``f(a) -> z``, element-wise, same shape and dtype as ``a``.
    df : callable
        ``df(a, z) -> sigma'(a)``, element-wise, where ``z = f(a)``.

    Examples
    --------
    >>> import numpy as np
    >>> square = Activation("square", f=lambda a: a * a, df=lambda a, z: 2 * a)
    >>> square.df(np.array([3.0]), square.f(np.array([3.0])))
    array([6.])
    """

    name: str
    f: ActivationFn
    df: DerivativeFn


def _identity(a: Array) -> Array:
    return a


def _identity_df(a: Array, z: Array) -> Array:
    return np.ones_like(a)


def _sigmoid(a: Array) -> Array:
    # Two branches so that no exponential ever overflows: for a >= 0 use
    # 1 / (1 + e^{-a}); for a < 0 the equal e^{a} / (1 + e^{a}).
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)


def _sigmoid_df(a: Array, z: Array) -> Array:
    return z * (1.0 - z)


def _tanh(a: Array) -> Array:
    return np.tanh(a)


def _tanh_df(a: Array, z: Array) -> Array:
    return 1.0 - z * z


def _relu(a: Array) -> Array:
    return np.maximum(a, 0)


def _relu_df(a: Array, z: Array) -> Array:
    # The weak derivative: 0 at a = 0, as on the slides.
    return (a > 0).astype(a.dtype)


def _leaky_relu(a: Array) -> Array:
    return np.where(a > 0, a, LEAKY_RELU_SLOPE * a)


def _leaky_relu_df(a: Array, z: Array) -> Array:
    return np.where(a > 0, 1.0, LEAKY_RELU_SLOPE).astype(a.dtype, copy=False)


def _softplus(a: Array) -> Array:
    # log(1 + e^a) = max(a, 0) + log(1 + e^{-|a|}): no overflow for any a.
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


def _softplus_df(a: Array, z: Array) -> Array:
    return _sigmoid(a)


def _gelu(a: Array) -> Array:
    """GELU, tanh approximation: a/2 (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3)))."""
    return 0.5 * a * (1.0 + np.tanh(_GELU_C * (a + _GELU_K * a**3)))


def _gelu_df(a: Array, z: Array) -> Array:
    t = np.tanh(_GELU_C * (a + _GELU_K * a**3))
    return 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * _GELU_C * (1.0 + 3.0 * _GELU_K * a * a)


identity = Activation("identity", _identity, _identity_df)
sigmoid = Activation("sigmoid", _sigmoid, _sigmoid_df)
tanh = Activation("tanh", _tanh, _tanh_df)
relu = Activation("relu", _relu, _relu_df)
leaky_relu = Activation("leaky_relu", _leaky_relu, _leaky_relu_df)
softplus = Activation("softplus", _softplus, _softplus_df)
gelu = Activation("gelu", _gelu, _gelu_df)

ACTIVATIONS: dict[str, Activation] = {
    act.name: act for act in (identity, sigmoid, tanh, relu, leaky_relu, softplus, gelu)
}
# scikit-learn calls the sigmoid "logistic"; accept its name too.
ALIASES: dict[str, str] = {"logistic": "sigmoid"}


def builtin_name(act: Activation) -> str | None:
    """The registry name of a built-in activation, or None for a user-defined one.

    >>> builtin_name(relu), builtin_name(Activation("square", lambda a: a * a, lambda a, z: 2 * a))
    ('relu', None)
    """
    return act.name if ACTIVATIONS.get(act.name) == act else None


def activation_names() -> list[str]:
    """Every name :func:`get_activation` accepts, aliases included, sorted."""
    return sorted([*ACTIVATIONS, *ALIASES])


def get_activation(activation: str | Activation, *, argument: str = "activation") -> Activation:
    """Look an activation up by name, or pass an :class:`Activation` through.

    Raises
    ------
    ValueError
        For an unknown name; the message lists every valid one.
    TypeError
        For anything that is neither a name nor an :class:`Activation`.
    """
    if isinstance(activation, Activation):
        if not (callable(activation.f) and callable(activation.df)):
            raise TypeError(f"The {argument!r} Activation {activation.name!r} needs callable f and df.")
        return activation
    if isinstance(activation, str):
        key = ALIASES.get(activation, activation)
        if key in ACTIVATIONS:
            return ACTIVATIONS[key]
        raise ValueError(
            f"The {argument!r} parameter must be one of {activation_names()} or an Activation. "
            f"Got {activation!r} instead."
        )
    raise TypeError(
        f"The {argument!r} parameter must be a str or an Activation. Got {type(activation).__name__} instead."
    )
