"""The exact full-batch loss and gradient of data held by Dask, one task per row block.

A step's graph::

    params ──broadcast──> block_sums(params, X_1, Y_1) ─┐
                          block_sums(params, X_2, Y_2) ─┼─ add_sums ─ ... ──> client: / n, + λ/2‖w‖²
                          ...                          ─┘   (a tree, SPLIT_EVERY blocks per task)

The parameters travel once per step: one task of the graph, whose result each worker
fetches once (from the worker that holds it) before its first block of the step.  The row
blocks are persisted keys, never data in the graph, and each ``block_sums`` runs
where its block lives.  Only the sums travel back: rows, loss sum, gradient sums.
"""

from __future__ import annotations

from typing import Any

import dask
from dask.delayed import Delayed, delayed

from deltaprop._types import Grads
from deltaprop.dask._data import BlockData, check_blocks
from deltaprop.dask._sums import SPLIT_EVERY, BlockSums, add_sums, block_sums, finish, tree_sum
from deltaprop.engine import supports as engine_supports
from deltaprop.network import Network
from deltaprop.train import engine_pays


def current_client() -> Any:
    """The distributed Client in use, or None (the threaded scheduler, or another one, then runs)."""
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - distributed is in the "dask" extra
        return None
    chosen = dask.config.get("scheduler", None)
    if chosen is not None and chosen not in ("dask.distributed", "distributed"):
        return None  # dask.config.set(scheduler="threads") and the like win over a Client
    try:
        client = default_client()
    except ValueError:
        return None
    return client if client.status == "running" else None


def broadcast(obj: Any) -> Delayed:
    """``obj`` as one task of a step's graph: sent once to each worker that runs a block of the step.

    The scheduler places the task on one worker and the others fetch its result from
    there, once per step, as for any dependency; a worker that dies on the way is the
    scheduler's business (``Client.scatter(broadcast=True)`` would wait on it instead).
    """
    return delayed(obj, traverse=False)


class DaskObjective:
    """L(w, b) = L_S(w, b) + λ/2‖w‖² and its gradient over Dask arrays, exactly, one step at a time.

    Parameters
    ----------
    net : Network
        Gives the structure and dtype; each call evaluates the parameters it is given.
    X : dask array of shape (n, M_0)
    Y : dask array (or NumPy array) of shape (n, K)
    sample_weight : dask array of shape (n,), optional
    persist : bool, default True
        Keep the blocks in the workers' memory; False reads them from their source
        (files, a computation) again at every step, for data that does not fit.
    split_every : int, default 8
        Blocks added per task of the tree reduction.
    threads : int, default 1
        BLAS threads inside each task (a worker runs one task per thread).
    evaluations : int, default 1
        How many times the objective will be called (a fit's steps, L-BFGS's evaluations):
        the workers compute the blocks' sums in the compiled engine where that work pays
        for loading it (``path``), on the reference path otherwise, by the work alone.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    >>> net = Network([3, 4, 2], activation="tanh", random_state=0)
    >>> objective = DaskObjective(net, da.from_array(X, chunks=10), Y)
    >>> loss, grads = objective(net, l2=0.01)
    >>> bool(abs(loss - net.loss(X, Y, l2=0.01)) < 1e-12)
    True
    """

    def __init__(
        self,
        net: Network,
        X: Any,
        Y: Any,
        sample_weight: Any = None,
        *,
        persist: bool = True,
        split_every: int = SPLIT_EVERY,
        threads: int = 1,
        evaluations: int = 1,
    ) -> None:
        self.data: BlockData = check_blocks(net, X, Y, sample_weight, persist=persist)
        self.split_every = split_every
        self.threads = threads
        work = float(evaluations) * self.data.n * sum(w.size for w in net.W)
        pays = engine_pays(evaluations * len(self.data.blocks), work)
        self.path = "engine" if pays and engine_supports(net) else "numpy"  # what block_sums runs

    @property
    def n(self) -> int:
        """The number of training rows."""
        return self.data.n

    def graph(self, net: Network) -> Delayed:
        """One step's tasks: the parameters of ``net`` broadcast, a ``block_sums`` per block, the tree."""
        shared = broadcast(net.copy())
        parts: list[Delayed] = [
            delayed(block_sums, pure=True)(shared, Xb, Yb, sb, self.threads, self.path)
            for Xb, Yb, sb in self.data.blocks
        ]
        return tree_sum(parts, delayed(add_sums, pure=True), self.split_every)

    def sums(self, net: Network) -> BlockSums:
        """The sums over all blocks at the parameters of ``net`` (rows, loss sum, gradient sums)."""
        (result,) = dask.compute(self.graph(net))
        return result

    def __call__(self, net: Network, l2: float = 0.0) -> tuple[float, Grads]:
        """(L, dL/dθ) at the parameters of ``net``: the blocks' sums, divided by n, plus the penalty."""
        return finish(self.sums(net), net, l2)
