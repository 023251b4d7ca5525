"""Output units fused with their losses.

Each output unit sigma_out is paired with the loss it is the canonical link of:

| output     | f(x) = sigma_out(a^(D))          | loss l(f(X_i), Y_i)                                   |
|------------|----------------------------------|-------------------------------------------------------|
| softmax    | e^{a_k} / sum_j e^{a_j}          | cross-entropy  -sum_k Y^(k) log f_k  (Y one-hot)      |
| identity   | a                                | squared error  1/2 sum_k (f_k - Y^(k))^2              |
| sigmoid    | 1 / (1 + e^{-a_k}) per output    | binary cross-entropy per output (multi-label, Y 0/1)  |

For all three pairs the derivative of the loss with respect to the output layer's
pre-activation is the same expression, the lecture's

    delta^(D) = dl/da^(D) = f(X) - Y.

Why: each loss is the negative log-likelihood of an exponential-family distribution
(categorical, Gaussian, Bernoulli) whose mean is f = sigma_out(a), and sigma_out is
that family's canonical link; the derivative of such a log-likelihood with respect
to the natural parameter a is always "mean minus observation".

The losses are computed from the logits a^(D), not from f, so that they stay finite
for any logits: cross-entropy as logsumexp(a) - Y.a, binary cross-entropy as
softplus(a) - Y a.  L_S averages the per-sample losses over the samples (optionally
weighted) and sums over the outputs, as the lecture writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from deltaprop._types import Array
from deltaprop.activations import _sigmoid, _softplus


class OutputLoss(NamedTuple):
    """An output unit sigma_out and its loss, with one signature for all.

    Parameters
    ----------
    name : str
        The output unit's name: "softmax", "identity" or "sigmoid".
    loss_name : str
        The loss it is fused with.
    f : callable
        ``f(a) -> sigma_out(a)`` row-wise on the logits a^(D), shape (n, K).
    per_sample : callable
        ``per_sample(a, Y) -> l``, shape (n,): the loss of each sample from the
        logits a^(D) (stable for any a) and the targets Y.
    """

    name: str
    loss_name: str
    f: Callable[[Array], Array]
    per_sample: Callable[[Array, Array], Array]


# Up to this many outputs, sums and maxima over k run column by column.
ROW_MAX_COLUMNS = 8


def _sum_over_k(a: Array) -> Array:
    """sum_k a_ik, shape (n,).

    The same sum as ``a.sum(axis=1)`` up to the order of the additions.  NumPy's
    reduction along a short row costs several times one element-wise operation, so up
    to ``ROW_MAX_COLUMNS`` outputs the columns are added one to the next, and for more
    the rows are a product with a vector of ones (BLAS).
    """
    if a.shape[1] > ROW_MAX_COLUMNS:
        return a @ np.ones(a.shape[1], dtype=a.dtype)
    total = a[:, 0]
    for k in range(1, a.shape[1]):
        total = total + a[:, k]
    return total


def _max_over_k(a: Array) -> Array:
    """max_k a_ik, shape (n,).

    The same numbers as ``a.max(axis=1)``; column against column up to
    ``ROW_MAX_COLUMNS`` outputs (for K = 2 a sixth of the instructions of NumPy's
    reduction along the rows, counted by callgrind).
    """
    if a.shape[1] > ROW_MAX_COLUMNS:
        return a.max(axis=1)
    top = a[:, 0]
    for k in range(1, a.shape[1]):
        top = np.maximum(top, a[:, k])
    return top


def _logsumexp(a: Array) -> Array:
    # log sum_k e^{a_k} = m + log sum_k e^{a_k - m} with m = max_k a_k: no overflow.
    m = _max_over_k(a)
    return m + np.log(_sum_over_k(np.exp(a - m[:, None])))


def log_softmax(a: Array) -> Array:
    """log softmax(a) = a - logsumexp(a) row by row, finite for any logits a^(D) (n, K).

    >>> import numpy as np
    >>> log_softmax(np.array([[0.0, 1000.0]])).round(6).tolist()
    [[-1000.0, 0.0]]
    """
    return a - _logsumexp(a)[:, None]


def _softmax(a: Array) -> Array:
    e = np.exp(a - _max_over_k(a)[:, None])
    return e / _sum_over_k(e)[:, None]


def _cross_entropy(a: Array, Y: Array) -> Array:
    # -sum_k Y_k log softmax(a)_k = sum_k Y_k (logsumexp(a) - a_k)
    return _logsumexp(a) * _sum_over_k(Y) - _sum_over_k(Y * a)


def _identity(a: Array) -> Array:
    return a


def _squared_error(a: Array, Y: Array) -> Array:
    r = a - Y
    return 0.5 * (r * r).sum(axis=1)


def _binary_cross_entropy(a: Array, Y: Array) -> Array:
    # -[Y log sigmoid(a) + (1 - Y) log(1 - sigmoid(a))] = softplus(a) - Y a
    return (_softplus(a) - Y * a).sum(axis=1)


softmax_cross_entropy = OutputLoss("softmax", "cross_entropy", _softmax, _cross_entropy)
identity_squared_error = OutputLoss("identity", "squared_error", _identity, _squared_error)
sigmoid_binary_cross_entropy = OutputLoss("sigmoid", "binary_cross_entropy", _sigmoid, _binary_cross_entropy)

OUTPUTS: dict[str, OutputLoss] = {
    o.name: o for o in (softmax_cross_entropy, identity_squared_error, sigmoid_binary_cross_entropy)
}
ALIASES: dict[str, str] = {"logistic": "sigmoid", "linear": "identity"}


def output_names() -> list[str]:
    """Every name :func:`get_output` accepts, aliases included, sorted."""
    return sorted([*OUTPUTS, *ALIASES])


def builtin_output_name(output: OutputLoss) -> str | None:
    """The registry name of a built-in output unit, or None for a user-defined one."""
    return output.name if OUTPUTS.get(output.name) == output else None


def get_output(output: str | OutputLoss) -> OutputLoss:
    """Look an output unit up by name, or pass an :class:`OutputLoss` through."""
    if isinstance(output, OutputLoss):
        return output
    if isinstance(output, str):
        key = ALIASES.get(output, output)
        if key in OUTPUTS:
            return OUTPUTS[key]
        raise ValueError(f"The 'output' parameter must be one of {output_names()}. Got {output!r} instead.")
    raise TypeError(f"The 'output' parameter must be a str. Got {type(output).__name__} instead.")


def output_delta(f: Array, Y: Array) -> Array:
    """delta^(D) = f(X) - Y, the same for every output/loss pair (canonical link)."""
    return f - Y


def mean_loss(output: OutputLoss, a: Array, Y: Array, sample_weight: Array | None = None) -> float:
    """L_S = (1/n) sum_i l_i, or the weighted mean sum_i s_i l_i / sum_i s_i."""
    return weighted_mean(output.per_sample(a, Y), sample_weight)


def weighted_mean(per_sample: Array, sample_weight: Array | None = None) -> float:
    """(1/n) sum_i l_i, or sum_i s_i l_i / sum_i s_i, of per-sample losses l, shape (n,)."""
    if sample_weight is None:
        # The sum over samples divided by n: what per_sample.mean() gives, without its overhead.
        return float(np.add.reduce(per_sample)) / per_sample.shape[0]
    return float(per_sample @ sample_weight / sample_weight.sum())
