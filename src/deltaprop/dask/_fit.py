"""Training a network on Dask arrays: exact full-batch steps, or mini-batches streamed from the blocks.

Three ways to take a step, chosen by ``batch_size`` and ``parallel``:

    batch_size=None               every step is the lecture's full-batch gradient: per-block
                                  sums on the workers, tree-summed, / n and + λW on the client
    batch_size=B, "client"        blocks streamed to the client in a seeded order, rows shuffled
                                  in each block, one Trainer step per batch of B rows
    batch_size=B, "workers"       data-parallel: P blocks at a time (P workers), each worker's
                                  batch of B rows gives its sums, one update from their total

The update is the optimiser's own (``optimizer.update`` and ``apply_updates`` for the
steps whose gradient comes from the workers, :meth:`Trainer.step` for batches on the
client), so a Trainer, a schedule or a callback work as in :func:`deltaprop.train.fit`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import dask
import numpy as np
from dask.delayed import Delayed, delayed

from deltaprop._checks import as_generator, check_scalar
from deltaprop._types import Array, Grads, RandomState
from deltaprop.dask._data import BlockData, check_blocks
from deltaprop.dask._objective import DaskObjective, broadcast, current_client
from deltaprop.dask._stream import batches_of_block, block_order, stream_blocks
from deltaprop.dask._sums import SPLIT_EVERY, BlockSums, add_sums, block_sums, finish, tree_sum
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation, apply_updates
from deltaprop.schedules import LearningRate
from deltaprop.train import Callback, DivergenceError, History, ProgressBar, Trainer, as_callback

PARALLEL = ("client", "workers")


class _Epoch(NamedTuple):
    loss: float  # the weighted mean of the batch losses
    grad_norms: list[float]  # per layer, the mean of ||dL/dW^(h)|| over the steps (NaN where not seen)
    stopped: bool  # a callback's on_batch_end asked to stop


def fit(
    net: Network,
    X: Any,
    Y: Any,
    *,
    optimizer: str | GradientTransformation | Trainer = "gd",
    learning_rate: LearningRate | None = None,
    l2: float | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    parallel: str = "client",
    shuffle: bool = True,
    random_state: RandomState = None,
    sample_weight: Any = None,
    persist: bool = True,
    split_every: int = SPLIT_EVERY,
    callbacks: Sequence[Callback | Any] = (),
    verbose: bool = False,
    history: History | None = None,
    **options: Any,
) -> History:
    """Train ``net`` in place on Dask arrays X (n, M_0) and Y (n, K); the client never holds all of X.

    Parameters
    ----------
    net : Network
    X : dask array of shape (n, M_0)
        Cut into row blocks; each block is a task's work.
    Y : dask or NumPy array of shape (n, K)
        Re-cut to X's row blocks.
    optimizer, learning_rate, l2, **options
        As in :func:`deltaprop.train.fit` (learning rate 0.1 and l2 0 by default); a
        Trainer continues with its optimiser state and brings its own.
    epochs : int, default 100
        Passes over the data; with ``batch_size=None`` one step each.
    batch_size : int, optional
        None (default): exact full-batch steps.  Else the rows of a mini-batch (per
        worker with ``parallel="workers"``).
    parallel : {"client", "workers"}, default "client"
        For mini-batches: step on the client over streamed blocks, or data-parallel on
        the workers.  Full-batch steps always compute on the workers.
    shuffle : bool, default True
        Mini-batches: a new block order and new row orders each epoch, from ``random_state``.
    random_state : None, int or Generator
    sample_weight : dask array of shape (n,), optional
    persist : bool, default True
        Keep X's blocks in the workers' memory between steps; False recomputes them from
        their source (e.g. Parquet files) whenever a step needs them: out of core.
    split_every : int, default 8
        Blocks added per task of the tree reduction.
    callbacks : sequence of Callback or functions ``fn(epoch, history, net)``
    verbose : bool, default False
        A progress bar over the epochs.
    history : History, optional
        Continue appending to this History.

    Returns
    -------
    History
        As :func:`deltaprop.train.fit` records it.  ``grad_norms`` holds NaN for the
        steps taken on the client (the Trainer's step does not return its gradient).

    Raises
    ------
    DivergenceError
        On a non-finite loss; ``net`` keeps the parameters of the last finite step.

    Notes
    -----
    Ctrl-C ends training cleanly with the current parameters (``stop_reason ==
    "interrupted"``).  With a distributed Client the tasks run on its cluster; without
    one, on Dask's threaded scheduler.  A worker lost mid-fit costs time, not the fit:
    Dask recomputes its blocks.
    """
    if parallel not in PARALLEL:
        raise ValueError(
            f"The 'parallel' parameter must be one of {list(PARALLEL)}. Got {parallel!r} instead."
        )
    check_scalar(epochs, "epochs", low=0, integer=True)
    if batch_size is not None:
        check_scalar(batch_size, "batch_size", low=1, integer=True)
    trainer = _trainer(net, optimizer, learning_rate, l2, options)
    rng = as_generator(random_state)
    history = History() if history is None else history
    hooks = [as_callback(cb) for cb in callbacks]
    if batch_size is None:
        objective = DaskObjective(
            net, X, Y, sample_weight, persist=persist, split_every=split_every, evaluations=epochs
        )
        data = objective.data
    else:
        data = check_blocks(net, X, Y, sample_weight, persist=persist)
    for cb in hooks:
        cb.on_train_begin(trainer, rng)
    with ProgressBar(epochs, enabled=verbose) as progress:
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for epoch in range(history.epochs, history.epochs + epochs):
                    if batch_size is None:
                        done = _full_batch_epoch(trainer, objective, hooks)
                    elif parallel == "client":
                        done = _client_epoch(trainer, data, batch_size, shuffle, rng, hooks)
                    else:
                        done = _workers_epoch(
                            trainer, data, batch_size, shuffle, rng, hooks, split_every, persist
                        )
                    history.loss.append(done.loss)
                    history.grad_norms.append(done.grad_norms)
                    history.lr.append(trainer.current_lr)
                    history.steps = trainer.steps
                    progress.advance(f"loss {done.loss:.4f}")
                    asked = any([bool(cb.on_epoch_end(epoch, history, net)) for cb in hooks])
                    if done.stopped or asked:
                        history.stop_reason = "callback"
                        break
        except KeyboardInterrupt:
            history.stop_reason = "interrupted"
    return history


def _trainer(
    net: Network,
    optimizer: str | GradientTransformation | Trainer,
    learning_rate: LearningRate | None,
    l2: float | None,
    options: dict[str, Any],
) -> Trainer:
    """A Trainer for ``net``, or the one given (with nothing that would override it)."""
    if not isinstance(optimizer, Trainer):
        return Trainer(net, optimizer, 0.1 if learning_rate is None else learning_rate, l2 or 0.0, **options)
    if optimizer.net is not net:
        raise ValueError("The Trainer passed as 'optimizer' trains another network.")
    given = [name for name, value in (("learning_rate", learning_rate), ("l2", l2)) if value is not None]
    if given or options:
        names = ", ".join(repr(name) for name in [*given, *sorted(options)])
        raise TypeError(
            f"fit() got a Trainer as 'optimizer' and also {names}. A Trainer carries its own learning "
            "rate, l2 and optimiser options; set them when building the Trainer."
        )
    return optimizer


def _apply(trainer: Trainer, loss: float, grads: Grads) -> None:
    """One update of ``trainer.net`` from a gradient computed elsewhere, by the optimiser's own rule."""
    net = trainer.net
    if not math.isfinite(loss):
        raise DivergenceError(
            f"The loss became {loss} at step {trainer.steps}: training diverged. The network keeps the "
            "parameters of the last step with a finite loss. Try a lower learning rate, or standardise "
            "the inputs (zero mean, unit variance)."
        )
    params = net.params
    updates, state = trainer.optimizer.update(grads, trainer.state, params)
    net.params = apply_updates(params, updates)
    trainer.state = state
    trainer.steps += 1


def _norms(grads: Grads) -> list[float]:
    return [float(np.sqrt(np.vdot(g, g))) for g in grads.W]


def _full_batch_epoch(trainer: Trainer, objective: DaskObjective, hooks: list[Callback]) -> _Epoch:
    loss, grads = objective(trainer.net, trainer.l2)
    _apply(trainer, loss, grads)
    stopped = any([bool(cb.on_batch_end(trainer.steps, loss, trainer.net)) for cb in hooks])
    return _Epoch(loss, _norms(grads), stopped)


def _client_epoch(
    trainer: Trainer,
    data: BlockData,
    batch_size: int,
    shuffle: bool,
    rng: np.random.Generator,
    hooks: list[Callback],
) -> _Epoch:
    total = seen = 0.0
    for block in stream_blocks(data, block_order(len(data.blocks), shuffle, rng)):
        for Xb, Yb, sb in batches_of_block(block, batch_size, shuffle, rng):
            loss = trainer.step(Xb, Yb, sb)
            weight = Xb.shape[0] if sb is None else float(sb.sum())
            total += loss * weight
            seen += weight
            if any([bool(cb.on_batch_end(trainer.steps, loss, trainer.net)) for cb in hooks]):
                return _Epoch(total / seen, [math.nan] * trainer.net.D, True)
    return _Epoch(total / seen, [math.nan] * trainer.net.D, False)


def _workers(client: Any) -> int:
    return max(1, len(client.scheduler_info(n_workers=-1)["workers"])) if client is not None else 1


def _rows_sums(
    net: Network, X: Array, Y: Array, s: Array | None, index: np.ndarray[Any, Any], threads: int = 1
) -> BlockSums:
    """The sums of the rows ``index`` of one block (a worker's share of a data-parallel step)."""
    return block_sums(net, X[index], Y[index], None if s is None else s[index], threads)


def _workers_epoch(
    trainer: Trainer,
    data: BlockData,
    batch_size: int,
    shuffle: bool,
    rng: np.random.Generator,
    hooks: list[Callback],
    split_every: int,
    persist: bool,
) -> _Epoch:
    """Groups of P blocks (P workers); step t of a group sums batch t of each of its blocks."""
    net = trainer.net
    order = block_order(len(data.blocks), shuffle, rng)
    parts = _workers(current_client())
    rows = data.rows
    total = seen = 0.0
    norms = np.zeros(net.D)
    steps = 0
    for start in range(0, len(order), parts):
        group = order[start : start + parts]
        blocks = [data.blocks[j] for j in group]
        if not persist:  # load the group's blocks once for its steps, release them after
            blocks = list(dask.persist(*blocks))
        batches = []
        for j in group:
            index = rng.permutation(rows[j]) if shuffle else np.arange(rows[j])
            batches.append([index[i : i + batch_size] for i in range(0, rows[j], batch_size)])
        for t in range(max(len(b) for b in batches)):
            shared = broadcast(net.copy())
            tasks: list[Delayed] = [
                delayed(_rows_sums, pure=True)(shared, Xb, Yb, sb, batches[k][t])
                for k, (Xb, Yb, sb) in enumerate(blocks)
                if t < len(batches[k])
            ]
            (sums,) = dask.compute(tree_sum(tasks, delayed(add_sums, pure=True), split_every))
            loss, grads = finish(sums, net, trainer.l2)
            _apply(trainer, loss, grads)
            total += loss * sums.weight
            seen += sums.weight
            norms += _norms(grads)
            steps += 1
            if any([bool(cb.on_batch_end(trainer.steps, loss, net)) for cb in hooks]):
                return _Epoch(total / seen, (norms / steps).tolist(), True)
    return _Epoch(total / seen, (norms / steps).tolist(), False)
