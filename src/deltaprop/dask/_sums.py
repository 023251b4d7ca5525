"""One row block's share of the full-batch loss and gradient, and their fixed-order tree sum.

The lecture's loss over n samples is a mean, so it splits over row blocks B_1..B_m as
sums that only the client divides::

    L_S(w, b)   = (1/n) sum_j  sum_{i in B_j} l_i                 (loss sums)
    dL_S/dW^(h) = (1/n) sum_j  sum_{i in B_j} delta^(h)_i z^(h-1)_i^T   (gradient sums)
    L           = L_S + lambda/2 ||w||^2,   dL/dW^(h) = dL_S/dW^(h) + lambda W^(h)

with n = sum_j |B_j| (or sum_i s_i with sample weights).  Each block's sums come from
the reference :meth:`Network.forward <deltaprop.network.Network.forward>` and
:meth:`~deltaprop.network.Network.backward`, or from the compiled engine's forward and
backward (:class:`deltaprop.train.FullBatchObjective`) where the fit's work pays for
loading it: the block's mean gradient times its row count.  :func:`tree_sum` adds them
in one fixed order, whatever runs the tasks, so a cluster, the threaded scheduler and
:func:`in_memory_loss_and_gradient` give the same bits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from deltaprop._types import Array, Grads, Params
from deltaprop.engine import supports as engine_supports
from deltaprop.network import Network
from deltaprop.train import FullBatchObjective

T = TypeVar("T")

# Blocks added per task of the reduction: a tree of depth log_8(m) for m blocks.
SPLIT_EVERY = 8


class BlockSums(NamedTuple):
    """What one row block (or several, added) contributes: never a mean, always sums.

    ``weight`` is the number of rows (or the sum of their sample weights), ``loss`` the
    sum of their losses l_i, ``W[h-1]`` and ``b[h-1]`` the sums of their gradients of
    l_i with respect to W^(h) and b^(h) (no penalty).
    """

    weight: float
    loss: float
    W: list[Array]
    b: list[Array]


def block_sums(
    net: Network,
    X: Array,
    Y: Array,
    sample_weight: Array | None = None,
    threads: int = 1,
    path: str = "numpy",
) -> BlockSums:
    """The sums of one block (X, Y) at the parameters of ``net``, by the reference forward and backward
    (``path="numpy"``) or the compiled engine's (``path="engine"``, where it covers the network).

    ``threads`` bounds BLAS inside the task (threadpoolctl): a Dask worker runs one task
    per thread it has, so one BLAS thread per task uses the worker's threads and no more.
    An empty block gives zeros.
    """
    X = np.asarray(X, dtype=net.dtype)
    Y = np.asarray(Y, dtype=net.dtype)
    if X.shape[0] == 0:
        return BlockSums(0.0, 0.0, [np.zeros_like(w) for w in net.W], [np.zeros_like(v) for v in net.b])
    s = None if sample_weight is None else np.asarray(sample_weight, dtype=net.dtype).reshape(-1)
    if path == "engine" and engine_supports(net):
        return _engine_sums(net, X, Y, s, threads)
    with threadpool_limits(limits=threads, user_api="blas"), np.errstate(all="ignore"):
        cache = net.forward(X)
        per_sample = net.output.per_sample(cache.a[-1], Y)
        if s is None:
            weight = float(X.shape[0])
            loss = float(np.add.reduce(per_sample))
        else:
            weight = float(s.sum())
            loss = float(per_sample @ s)
        if weight == 0.0:
            return BlockSums(0.0, 0.0, [np.zeros_like(w) for w in net.W], [np.zeros_like(v) for v in net.b])
        # backward gives the block's mean gradient (sum over rows / rows, or s-weighted);
        # times the block's weight it is the block's gradient sum.
        grads = net.backward(cache, Y, 0.0, s)
    return BlockSums(weight, loss, [g * weight for g in grads.W], [g * weight for g in grads.b])


def _engine_sums(net: Network, X: Array, Y: Array, s: Array | None, threads: int) -> BlockSums:
    """A block's sums by the compiled engine: its mean loss and gradient times the block's weight."""
    weight = float(X.shape[0]) if s is None else float(s.sum())
    if weight == 0.0:
        return BlockSums(0.0, 0.0, [np.zeros_like(w) for w in net.W], [np.zeros_like(v) for v in net.b])
    with threadpool_limits(limits=threads, user_api="blas"), np.errstate(all="ignore"):
        loss, grads = FullBatchObjective(net, X, Y, 0.0, s, path="engine")()
        if not np.isfinite(loss):  # the engine stops before its backward pass: no gradient
            grads = Grads([np.zeros_like(w) for w in net.W], [np.zeros_like(v) for v in net.b])
        return BlockSums(weight, loss * weight, [g * weight for g in grads.W], [g * weight for g in grads.b])


def add_sums(*parts: BlockSums) -> BlockSums:
    """The sums of several blocks together, added left to right."""
    first, *rest = parts
    weight, loss = first.weight, first.loss
    W = [w.copy() for w in first.W]
    b = [v.copy() for v in first.b]
    for part in rest:
        weight += part.weight
        loss += part.loss
        for h in range(len(W)):
            W[h] += part.W[h]
            b[h] += part.b[h]
    return BlockSums(weight, loss, W, b)


def tree_sum(parts: Sequence[T], combine: Callable[..., T], split_every: int = SPLIT_EVERY) -> T:
    """Reduce ``parts`` by ``combine`` over consecutive groups of ``split_every``, level by level.

    The grouping depends only on ``len(parts)`` and ``split_every``: the same order of
    additions whether ``combine`` adds arrays now or builds Dask tasks that add later.
    """
    if not parts:
        raise ValueError("There are no blocks to sum: the data has no rows.")
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2. Got {split_every}.")
    level = list(parts)
    while len(level) > 1:
        level = [combine(*level[i : i + split_every]) for i in range(0, len(level), split_every)]
    return level[0]


def finish(total: BlockSums, net: Network, l2: float) -> tuple[float, Grads]:
    """The client's share: divide the sums by n and add the penalty lambda/2 ||w||^2 (weights only)."""
    if total.weight <= 0:
        raise ValueError("The rows' weights sum to zero: there is nothing to train on.")
    loss = total.loss / total.weight + net.penalty(l2)
    W = [g / total.weight for g in total.W]
    if l2:
        W = [g + l2 * w for g, w in zip(W, net.W, strict=True)]
    b = [g / total.weight for g in total.b]
    return loss, Params(W, b)


def in_memory_loss_and_gradient(
    net: Network,
    X_blocks: Sequence[Array],
    Y_blocks: Sequence[Array],
    l2: float = 0.0,
    s_blocks: Sequence[Array | None] | None = None,
    *,
    split_every: int = SPLIT_EVERY,
    threads: int = 1,
    path: str = "numpy",
) -> tuple[float, Grads]:
    """The full-batch loss and gradient of blocks held in memory, summed as a cluster sums them.

    The same :func:`block_sums`, :func:`tree_sum` and :func:`finish` as
    :class:`deltaprop.dask.DaskObjective`, without Dask: the oracle its tests compare
    with bit for bit, and a way to see what a distributed step computes.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(10, 3))
    >>> Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    >>> net = Network([3, 2], random_state=0)
    >>> loss, grads = in_memory_loss_and_gradient(net, [X[:6], X[6:]], [Y[:6], Y[6:]])
    >>> bool(np.isclose(loss, net.loss(X, Y)))
    True
    """
    weights: Sequence[Array | None] = [None] * len(X_blocks) if s_blocks is None else s_blocks
    parts = [
        block_sums(net, Xb, Yb, sb, threads, path)
        for Xb, Yb, sb in zip(X_blocks, Y_blocks, weights, strict=True)
    ]
    return finish(tree_sum(parts, add_sums, split_every), net, l2)
