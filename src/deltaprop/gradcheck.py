"""Finite-difference check of backpropagation.

Every parameter theta of the network is nudged both ways and the loss
L = L_S + lambda/2 ||w||^2 is re-evaluated in float64:

    dL/dtheta ~ (8 [L(theta + eps) - L(theta - eps)] - [L(theta + 2 eps) - L(theta - 2 eps)]) / (12 eps)

the fourth-order central difference: its truncation error is O(eps^4), so a
moderate eps keeps both truncation and rounding error near 1e-12.

The numerical gradient g_num is compared with ``net.backward``'s g by the relative
error ||g - g_num|| / max(||g|| + ||g_num||, tiny), per layer and per parameter kind.
Differences of the loss resolve a derivative only to about 1e-16 |L| / eps (1e-12 for
eps = 1e-4 and a loss near 1): a gradient whose norm is not far above that -- the
weights of a dead ReLU unit under a penalty of lambda = 1e-11, say -- shows a large
relative error that says nothing about backpropagation.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from deltaprop._checks import check_scalar
from deltaprop.network import Network


class LayerError(NamedTuple):
    """Relative errors of dL/dW^(h) and dL/db^(h) for one layer h."""

    h: int
    W: float
    b: float


class GradientReport(NamedTuple):
    """The result of :func:`check_gradients`: one :class:`LayerError` per layer."""

    layers: list[LayerError]

    @property
    def max_rel_error(self) -> float:
        """The largest relative error over all layers and parameter kinds."""
        return max(max(layer.W, layer.b) for layer in self.layers)

    def __str__(self) -> str:
        lines = ["layer  rel. error dL/dW^(h)  rel. error dL/db^(h)"]
        lines += [f"{layer.h:>5}  {layer.W:>20.3e}  {layer.b:>20.3e}" for layer in self.layers]
        lines.append(f"max relative error: {self.max_rel_error:.3e}")
        return "\n".join(lines)


def _relative_error(g: np.ndarray, g_num: np.ndarray) -> float:
    scale = np.linalg.norm(g) + np.linalg.norm(g_num)
    return float(np.linalg.norm(g - g_num) / max(scale, np.finfo(np.float64).tiny))


def check_gradients(
    net: Network,
    X: Any,
    Y: Any,
    l2: float = 0.0,
    eps: float = 1e-4,
    sample_weight: Any = None,
) -> GradientReport:
    """Compare ``net.backward`` with central differences of ``net.loss``, in float64.

    The check runs on a float64 copy of ``net``; ``net`` itself is not changed.

    Returns
    -------
    GradientReport
        ``report.layers[h-1]`` holds layer h's relative errors; ``report.max_rel_error``
        the largest.  Below 1e-7 means backpropagation agrees with the definition of
        the derivative.

    Examples
    --------
    >>> import numpy as np
    >>> net = Network([3, 4, 2], activation="tanh", random_state=0)
    >>> X = np.random.default_rng(0).normal(size=(5, 3))
    >>> Y = np.eye(2)[[0, 1, 1, 0, 1]]
    >>> check_gradients(net, X, Y, l2=0.1).max_rel_error < 1e-7
    True
    """
    check_scalar(eps, "eps", low=0.0, low_inclusive=False)
    net64 = net.astype("float64")
    X = net64.check_X(X)
    Y = net64.check_Y(Y, X.shape[0])
    grads = net64.backward(net64.forward(X), Y, l2=l2, sample_weight=sample_weight)

    def numerical(param: np.ndarray) -> np.ndarray:
        g_num = np.empty_like(param)
        flat, out = param.reshape(-1), g_num.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            shifted = []
            for step in (eps, -eps, 2 * eps, -2 * eps):
                flat[i] = saved + step
                shifted.append(net64.loss(X, Y, l2=l2, sample_weight=sample_weight))
            flat[i] = saved
            plus, minus, plus2, minus2 = shifted
            out[i] = (8 * (plus - minus) - (plus2 - minus2)) / (12 * eps)
        return g_num

    layers = [
        LayerError(
            h,
            _relative_error(grads.W[h - 1], numerical(net64.W[h - 1])),
            _relative_error(grads.b[h - 1], numerical(net64.b[h - 1])),
        )
        for h in range(1, net64.D + 1)
    ]
    return GradientReport(layers)
