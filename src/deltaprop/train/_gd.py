"""The lecture's batch gradient descent, step for step:

    w(t+1) = w(t) - eta * ( grad_w L_S(w(t), b(t)) + lambda w(t) )
    b(t+1) = b(t) - eta *   grad_b L_S(w(t), b(t))

over the full data set at every step, on the reference network's pure functions.
:func:`deltaprop.train.fit` is the practical loop around the same gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from deltaprop._checks import check_scalar
from deltaprop.network import Network
from deltaprop.train._trainer import DivergenceError, _divergence_message


def gradient_descent(
    net: Network,
    X: Any,
    Y: Any,
    lr: float = 0.1,
    l2: float = 0.0,
    steps: int = 100,
    sample_weight: Any = None,
) -> NDArray[np.float64]:
    """Train ``net`` in place by the lecture's batch gradient descent.

    Parameters
    ----------
    net : Network
        Updated in place.
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
        One-hot classes, real targets or 0/1 labels, as ``net.output`` expects.
    lr : float, default 0.1
        The learning rate eta > 0.
    l2 : float, default 0
        The lecture's lambda >= 0: the penalty lambda/2 ||w||^2 on the weights only.
    steps : int, default 100
        The number T of full-batch steps.
    sample_weight : array of shape (n,), optional
        Per-sample weights of L_S.

    Returns
    -------
    ndarray of shape (steps,)
        ``losses[t]`` = L_S(w(t), b(t)) + lambda/2 ||w(t)||^2, the loss before step t.

    Raises
    ------
    DivergenceError
        If the loss becomes NaN or infinite; ``net`` then holds the parameters of
        the last step whose loss was finite.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Y = np.eye(2)[[0, 1, 1, 0]]
    >>> net = Network([2, 8, 2], activation="tanh", random_state=0)
    >>> losses = gradient_descent(net, X, Y, lr=0.5, steps=500)
    >>> bool(losses[-1] < losses[0])
    True
    """
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[0])
    s = net.check_sample_weight(sample_weight, X.shape[0])
    check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    check_scalar(l2, "l2", low=0.0)
    check_scalar(steps, "steps", low=0, integer=True)
    losses = np.empty(steps)
    previous = net.params
    # Overflow is detected through the loss below, not through NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t in range(steps):
            cache = net._forward(X)
            losses[t] = net.cache_loss(cache, Y, l2, s)
            if not np.isfinite(losses[t]):
                net.params = previous
                raise DivergenceError(_divergence_message(t, losses[t]))
            grads = net._backward(cache, Y, l2, s)
            previous = net.params
            # The update builds new arrays, so `previous` still holds w(t).
            net.W = [W - lr * gW for W, gW in zip(net.W, grads.W, strict=True)]
            net.b = [b - lr * gb for b, gb in zip(net.b, grads.b, strict=True)]
    return losses
