"""Second derivatives sigma'' of the built-in activations, keyed by name.

The Hessian-vector product needs sigma'' where backpropagation needs only sigma'.
Each entry has the signature of an activation's ``df``, ``d2f(a, z) -> sigma''(a)``
with ``z = sigma(a)`` passed so that it can be reused:

| name         | sigma''(a)                                                        |
|--------------|-------------------------------------------------------------------|
| identity     | 0                                                                 |
| sigmoid      | sigma'(a) (1 - 2 sigma(a)) = z (1 - z) (1 - 2 z)                  |
| tanh         | -2 tanh(a) (1 - tanh(a)^2) = -2 z (1 - z^2)                       |
| relu         | 0 (for a != 0; the weak second derivative, like ReLU'(0) = 0)     |
| leaky_relu   | 0 (for a != 0)                                                    |
| softplus     | sigmoid'(a) = s (1 - s), s = sigmoid(a)                           |
| gelu         | (1 - t^2) [u' + a/2 (u'' - 2 t u'^2)], see :func:`_gelu_d2f`      |

ReLU and leaky ReLU are piecewise linear: away from the kink their second derivative
is 0, so the loss is piecewise quadratic in each layer's weights and the Hessian sees
only the curvature of the output unit and of the products of layers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deltaprop._types import Array
from deltaprop.activations import Activation, builtin_name, sigmoid

SecondDerivativeFn = Callable[[Array, Array], Array]

# The constants of deltaprop.activations' GELU (tanh approximation); the tests check
# sigma'' against differences of that module's sigma', so a change there shows here.
_GELU_C = float(np.sqrt(2.0 / np.pi))
_GELU_K = 0.044715


def _zero_d2f(a: Array, z: Array) -> Array:
    return np.zeros_like(a)


def _sigmoid_d2f(a: Array, z: Array) -> Array:
    return z * (1.0 - z) * (1.0 - 2.0 * z)


def _tanh_d2f(a: Array, z: Array) -> Array:
    return -2.0 * z * (1.0 - z * z)


def _softplus_d2f(a: Array, z: Array) -> Array:
    s = sigmoid.f(a)
    return s * (1.0 - s)


def _gelu_d2f(a: Array, z: Array) -> Array:
    """GELU'' of the tanh approximation a/2 (1 + tanh u), u = c (a + k a^3).

    With t = tanh u, u' = c (1 + 3 k a^2), u'' = 6 c k a:
    GELU' = (1 + t)/2 + a/2 (1 - t^2) u', and differentiating once more,
    GELU'' = (1 - t^2) [u' + a/2 (u'' - 2 t u'^2)].
    """
    t = np.tanh(_GELU_C * (a + _GELU_K * a**3))
    du = _GELU_C * (1.0 + 3.0 * _GELU_K * a * a)
    d2u = 6.0 * _GELU_C * _GELU_K * a
    return (1.0 - t * t) * (du + 0.5 * a * (d2u - 2.0 * t * du * du))


SECOND_DERIVATIVES: dict[str, SecondDerivativeFn] = {
    "identity": _zero_d2f,
    "sigmoid": _sigmoid_d2f,
    "tanh": _tanh_d2f,
    "relu": _zero_d2f,
    "leaky_relu": _zero_d2f,
    "softplus": _softplus_d2f,
    "gelu": _gelu_d2f,
}


def second_derivative(act: Activation) -> SecondDerivativeFn:
    """sigma'' of a built-in activation as ``d2f(a, z)``; a clear error for any other.

    Parameters
    ----------
    act : Activation
        A hidden layer's activation record, e.g. ``net.activations[h-1]``.

    Returns
    -------
    callable
        ``d2f(a, z) -> sigma''(a)``, element-wise, with ``z = act.f(a)``.

    Raises
    ------
    ValueError
        If ``act`` is not one of the built-in activations (a user-defined record
        carries sigma and sigma' only, and the Hessian needs sigma'').

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop.activations import tanh
    >>> a = np.array([-1.0, 1.0])
    >>> np.round(second_derivative(tanh)(a, tanh.f(a)), 4)  # -2 tanh(a) (1 - tanh(a)^2)
    array([ 0.6397, -0.6397])
    """
    name = builtin_name(act)
    if name is None or name not in SECOND_DERIVATIVES:
        raise ValueError(
            f"The Hessian needs the second derivative sigma'' of every hidden activation, and "
            f"{act.name!r} is a user-defined activation whose record carries only sigma and sigma'. "
            f"Use one of the built-in activations {sorted(SECOND_DERIVATIVES)}."
        )
    return SECOND_DERIVATIVES[name]
