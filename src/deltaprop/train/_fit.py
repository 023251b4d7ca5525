"""The practical training loop, :func:`fit`, in parts a reader can take one at a time.

Any optimiser of :mod:`deltaprop.optim`, mini-batches (``batch_size``; the full batch
by default), epochs with reshuffling, validation, early stopping that restores the
best weights, a :class:`History`, callbacks, a progress bar, and a clean stop on
Ctrl-C, around the gradient of :func:`~deltaprop.train.gradient_descent`.  ``fit``
reads as: check the arguments, build the stopping rule, then for every epoch

    run the epoch       (_run_epoch: its batches, steps, loss and gradient norms)
    record it           (_record_epoch: the History's entries, validation included)
    the callbacks       (_end_of_epoch: any of them may stop training)
    stop?               (StoppingRule: improvement, patience, the best weights)
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import numpy as np

from deltaprop._checks import as_generator, check_matrix, check_scalar
from deltaprop._types import Array, RandomState
from deltaprop.metrics import output_score
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation
from deltaprop.schedules import LearningRate, ReduceOnPlateau
from deltaprop.train._batches import Batch, Batches
from deltaprop.train._callbacks import Callback, EpochFunction, as_callback
from deltaprop.train._history import History
from deltaprop.train._interrupts import HeldInterrupt
from deltaprop.train._progress import ProgressBar
from deltaprop.train._split import Indices, split_validation
from deltaprop.train._stopping import StoppingRule
from deltaprop.train._trainer import DivergenceError, Trainer

if TYPE_CHECKING:
    from deltaprop.engine import Run

MONITORS = ("loss", "val_loss", "val_score")

T = TypeVar("T")


class _Default(Generic[T]):
    """A default that fit tells apart from the same value given (it shows as the value)."""

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


# Defaults of the arguments a Trainer as 'optimizer' brings itself.
_LEARNING_RATE: _Default[LearningRate] = _Default(0.1)
_L2: _Default[float] = _Default(0.0)


def fit(
    net: Network,
    X: Any,
    Y: Any,
    *,
    optimizer: str | GradientTransformation | Trainer = "gd",
    learning_rate: LearningRate | _Default[LearningRate] = _LEARNING_RATE,
    l2: float | _Default[float] = _L2,
    epochs: int = 100,
    batch_size: int | None = None,
    shuffle: bool = True,
    random_state: RandomState = None,
    sample_weight: Any = None,
    validation_data: tuple[Any, Any] | None = None,
    validation_fraction: float | None = None,
    early_stopping: bool = False,
    monitor: str | None = None,
    tol: float = 1e-4,
    n_iter_no_change: int = 10,
    restore_best: bool = True,
    callbacks: Sequence[Callback | EpochFunction] = (),
    verbose: bool = False,
    history: History | None = None,
    **options: Any,
) -> History:
    """Train ``net`` in place by (mini-)batch gradient descent with any optimiser.

    Parameters
    ----------
    net : Network
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
    optimizer : str, GradientTransformation or Trainer, default "gd"
        See :class:`Trainer`; a Trainer continues with its optimiser state and
        brings its own learning rate, ``l2`` and options.
    learning_rate : float or schedule, default 0.1
        Not with a Trainer as ``optimizer``.
    l2 : float, default 0
        The lecture's lambda (penalty lambda/2 ||w||^2 on the weights only).
        Not with a Trainer as ``optimizer``.
    epochs : int, default 100
        Passes over the training data.
    batch_size : int, optional
        Samples per step; None (default) is the full batch: the lecture's batch GD, and
        X is then used as it is, never copied.
    shuffle : bool, default True
        Draw a new order of the samples each epoch (by index permutation from
        ``random_state``; the caller's arrays are never reordered).
    random_state : None, int or Generator
        Seeds shuffling and the validation split: same seed, same weights, bit for bit.
    sample_weight : array of shape (n,), optional
    validation_data : (X_val, Y_val), optional
    validation_fraction : float in (0, 1), optional
        Split this share off the training data (stratified for softmax outputs).
    early_stopping : bool, default False
        Stop when ``monitor`` has not improved by ``tol`` for ``n_iter_no_change`` epochs.
    monitor : {"loss", "val_loss", "val_score"}, optional
        Defaults to "val_loss" with validation data, else "loss".
    restore_best : bool, default True
        With ``early_stopping``, end (or be interrupted) with the best epoch's weights.
    callbacks : sequence of Callback or functions ``fn(epoch, history, net)``
        A callback returning True stops training.
    verbose : bool, default False
        Show a progress bar (epoch, loss, validation loss, ETA); nothing is printed otherwise.
    history : History, optional
        Continue appending to this History (e.g. after resuming); its ``stop_reason``
        becomes this run's.
    **options
        Hyper-parameters of the named optimiser; not with a Trainer as ``optimizer``.

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        On a non-finite loss; ``net`` keeps the parameters of the last finite step.
    TypeError
        When ``optimizer`` is a Trainer and ``learning_rate``, ``l2`` or optimiser
        options are given too (the Trainer's own would silently win).

    Notes
    -----
    Ctrl-C (KeyboardInterrupt) ends training cleanly: the network keeps its current
    weights (the best epoch's with ``early_stopping`` and ``restore_best``) and the
    History says ``stop_reason == "interrupted"``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> Y = np.eye(2)[(X[:, 0] * X[:, 1] > 0).astype(int)]
    >>> net = Network([2, 16, 2], activation="tanh", random_state=0)
    >>> history = fit(net, X, Y, optimizer="adam", learning_rate=0.01, epochs=50,
    ...               batch_size=32, validation_fraction=0.2, random_state=0)
    >>> history.epochs, history.val_score[-1] > 0.8
    (50, True)
    """
    if hasattr(X, "__dask_graph__") or hasattr(Y, "__dask_graph__"):  # would load all of X here
        raise TypeError(
            "fit() got a Dask collection as X or Y. Train on Dask with deltaprop.dask.fit(net, X, Y, ...) "
            "(pip install 'deltaprop[dask]'): it computes each step on the blocks where they are."
        )
    run = _check_arguments(
        net,
        X,
        Y,
        optimizer=optimizer,
        learning_rate=learning_rate,
        l2=l2,
        options=options,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        random_state=random_state,
        sample_weight=sample_weight,
        validation_data=validation_data,
        validation_fraction=validation_fraction,
        monitor=monitor,
        tol=tol,
        n_iter_no_change=n_iter_no_change,
        callbacks=callbacks,
    )
    trainer = run.trainer
    history = History() if history is None else history
    history.stop_reason = "max_epochs"  # until this run stops otherwise (a History resumed held the last's)
    rule = StoppingRule(
        maximize=run.monitor == "val_score",
        tol=tol,
        patience=n_iter_no_change if early_stopping else math.inf,
        keep_best=early_stopping and restore_best,
        best_epoch=history.best_epoch,
    )
    rule.resume(getattr(history, run.monitor))  # a resumed run goes on counting
    for cb in run.callbacks:
        cb.on_train_begin(trainer, run.rng)
    trainer.plan(epochs * run.batches.steps_per_epoch, run.batches.batch_size)
    with ProgressBar(epochs, enabled=verbose) as progress:
        if progress.shown:
            progress.note(trainer.describe_path())
        try:
            # Overflow is detected through the loss (DivergenceError), not through NumPy warnings.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                chunks = _Chunks(trainer, run, rule)
                epoch, end = history.epochs, history.epochs + epochs
                while epoch < end:
                    # A Ctrl-C during a compiled run waits until its epochs are in the History.
                    with HeldInterrupt() if chunks.compiled else contextlib.nullcontext():
                        ran, stopped = chunks.run(end - epoch)
                        if isinstance(ran, _Epochs):  # run together: nothing watches each epoch
                            if ran.loss:
                                _record_together(history, ran, epoch, run, rule, progress)
                        elif ran:
                            _record_epoch(history, ran[0], trainer, run.validation)
                    reason = None
                    if isinstance(ran, _Epochs):
                        epoch += len(ran.loss)
                    elif ran:
                        reason = _end_of_epoch(history, ran[0], epoch, run, rule, progress)
                        epoch += 1
                        if reason is not None:
                            history.stop_reason = reason
                    if stopped is not None:
                        raise stopped
                    if reason is not None:
                        break
        except KeyboardInterrupt:
            history.stop_reason = "interrupted"
    rule.restore(net)  # the best epoch's weights, with early_stopping and restore_best
    return history


def _end_of_epoch(
    history: History, done: _Epoch, epoch: int, run: _Run, rule: StoppingRule, progress: ProgressBar
) -> str | None:
    """Let the schedule, stopping rule, progress bar and callbacks see the epoch (recorded).

    Returns why training stops here ("callback", "no_improvement"), or None to go on.
    """
    trainer, net = run.trainer, run.trainer.net
    if isinstance(trainer.learning_rate, ReduceOnPlateau):  # a schedule that watches the loss
        trainer.learning_rate.observe(history.loss[-1])
    if rule.update(getattr(history, run.monitor)[-1], net, epoch):
        history.best_epoch = rule.best_epoch
    if progress.shown:
        progress.advance(_summary(history))
    asked = any(cb.on_epoch_end(epoch, history, net) for cb in run.callbacks)
    if done.stopped or asked:
        return "callback"
    if rule.patience_used_up:
        return "no_improvement"
    return None


def _record_together(
    history: History, ran: _Epochs, epoch: int, run: _Run, rule: StoppingRule, progress: ProgressBar
) -> None:
    """Epochs that ran in one call (no callback, validation, patience or plateau schedule
    watches them, see :class:`_Chunks`), recorded as :func:`_record_epoch` records each,
    column by column (hundreds of the lecture's toy epochs run in a few milliseconds)."""
    _record_training(history, ran, run.trainer)
    if rule.update_many(ran.loss, epoch):  # the monitor is the loss here
        history.best_epoch = rule.best_epoch
    if progress.shown:
        progress.advance(_summary(history), len(ran.loss))


# ----------------------------------------------------------- checking the arguments
class _Run(NamedTuple):
    """fit's arguments, checked once: the hot loop trusts them."""

    trainer: Trainer
    batches: Batches
    validation: tuple[Array, Array] | None  # (X_val, Y_val)
    monitor: str
    rng: np.random.Generator
    callbacks: list[Callback]


def _check_arguments(
    net: Network,
    X: Any,
    Y: Any,
    *,
    optimizer: str | GradientTransformation | Trainer,
    learning_rate: LearningRate | _Default[LearningRate],
    l2: float | _Default[float],
    options: dict[str, Any],
    epochs: int,
    batch_size: int | None,
    shuffle: bool,
    random_state: RandomState,
    sample_weight: Any,
    validation_data: tuple[Any, Any] | None,
    validation_fraction: float | None,
    monitor: str | None,
    tol: float,
    n_iter_no_change: int,
    callbacks: Sequence[Callback | EpochFunction],
) -> _Run:
    """Validate fit's arguments (naming the culprit) and split off the validation data."""
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[0])
    s = net.check_sample_weight(sample_weight, X.shape[0])
    check_scalar(epochs, "epochs", low=0, integer=True)
    check_scalar(tol, "tol", low=0.0)
    check_scalar(n_iter_no_change, "n_iter_no_change", low=1, integer=True)
    rng = as_generator(random_state)
    trainer = _trainer(net, optimizer, learning_rate, l2, options)
    validation = None
    if validation_data is not None and validation_fraction is not None:
        raise ValueError("Give either 'validation_data' or 'validation_fraction', not both.")
    if validation_data is not None:
        X_val = check_matrix(validation_data[0], "X_val", net.dtype, n_columns=net.sizes[0])
        validation = (X_val, net.check_Y(validation_data[1], X_val.shape[0]))
    elif validation_fraction is not None:
        train, val = _split(net, Y, validation_fraction, rng)
        validation = (X[val], Y[val])
        X, Y, s = X[train], Y[train], None if s is None else s[train]
    n = X.shape[0]
    if batch_size is None:
        batch_size = n
    check_scalar(batch_size, "batch_size", low=1, integer=True)
    if monitor is None:
        monitor = "val_loss" if validation is not None else "loss"
    if monitor not in MONITORS:
        raise ValueError(f"The 'monitor' parameter must be one of {list(MONITORS)}. Got {monitor!r} instead.")
    if monitor != "loss" and validation is None:
        raise ValueError(
            f"monitor={monitor!r} needs validation data: give 'validation_data' or 'validation_fraction'."
        )
    batches = Batches(X, Y, s, min(batch_size, n), shuffle)
    return _Run(trainer, batches, validation, monitor, rng, [as_callback(cb) for cb in callbacks])


def _trainer(
    net: Network,
    optimizer: str | GradientTransformation | Trainer,
    learning_rate: LearningRate | _Default[LearningRate],
    l2: float | _Default[float],
    options: dict[str, Any],
) -> Trainer:
    """The Trainer that fit drives: a new one for ``net``, or the one given with nothing to override it."""
    if not isinstance(optimizer, Trainer):
        lr = None if isinstance(learning_rate, _Default) else learning_rate  # the Trainer's default
        return Trainer(net, optimizer, lr, l2.value if isinstance(l2, _Default) else l2, **options)
    if optimizer.net is not net:
        raise ValueError("The Trainer passed as 'optimizer' trains another network.")
    given = [
        name
        for name, value in [("learning_rate", learning_rate), ("l2", l2)]
        if not isinstance(value, _Default)
    ]
    if given or options:
        names = ", ".join(repr(name) for name in [*given, *sorted(options)])
        raise TypeError(
            f"fit() got a Trainer as 'optimizer' and also {names}. A Trainer carries its own learning "
            "rate, l2 and optimiser options, so these would be ignored; set them when building the "
            "Trainer: Trainer(net, optimizer, learning_rate, l2, **options)."
        )
    return optimizer


def _split(net: Network, Y: Array, fraction: float, rng: np.random.Generator) -> tuple[Indices, Indices]:
    """Training and validation rows for ``validation_fraction`` (stratified for softmax outputs)."""
    check_scalar(fraction, "validation_fraction", low=0.0, low_inclusive=False)
    if fraction >= 1:
        raise ValueError(f"The 'validation_fraction' parameter must be < 1. Got {fraction}.")
    labels = Y.argmax(axis=1) if net.output.name == "softmax" else None
    train, val = split_validation(Y.shape[0], fraction, rng, labels=labels)
    if val.size == 0 or train.size == 0:
        raise ValueError(
            f"validation_fraction={fraction} leaves {val.size} of {Y.shape[0]} samples "
            "for validation; both parts need at least one sample."
        )
    return train, val


# ------------------------------------------------------------------ one epoch
class _Epoch(NamedTuple):
    """What one epoch's batches gave: averages over the batches that ran."""

    loss: float  # the (weighted) mean of the batch losses
    grad_norms: list[float]  # per layer h = 1..D, the mean of ||dL/dW^(h)||
    stopped: bool  # a callback's on_batch_end asked to stop
    steps: int  # the trainer's steps at the epoch's end


class _Epochs(NamedTuple):
    """Epochs run together in one compiled call, column by column (:class:`_Epoch`'s fields)."""

    loss: list[float]
    grad_norms: list[list[float]]
    steps: list[int]


class _Chunks:
    """fit's epochs, one at a time, or several together where nothing watches each.

    When no callback, validation, early stopping or plateau schedule needs Python
    between epochs, epochs run together and are recorded together: the engine runs
    them in one compiled call (on the lecture's batch GD on a small network, Python's
    work per epoch would outweigh the compiled step), the reference one after the
    other, recorded at the chunk's end.  A chunk lasts about ``SECONDS`` (timed, so that Ctrl-C
    and the progress bar answer promptly); the steps, their order and the random draws
    are those of one epoch at a time, so the weights are the same bits however the
    epochs are grouped.
    """

    SECONDS = 0.1
    MAX_STEPS = 100_000

    def __init__(self, trainer: Trainer, run: _Run, rule: StoppingRule) -> None:
        self.trainer, self.batches, self.rng, self.callbacks = trainer, run.batches, run.rng, run.callbacks
        self.together = (
            not run.callbacks
            and run.validation is None
            and rule.patience == math.inf
            and not rule.keep_best
            and not isinstance(trainer.learning_rate, ReduceOnPlateau)
        )
        self.seconds_per_epoch = math.inf  # unknown until the first epoch ran
        # each epoch is one compiled call (or several together): no Python runs inside
        self.compiled = trainer.path == "engine" and not any(map(_watches_batches, run.callbacks))

    def run(self, left: int) -> tuple[list[_Epoch] | _Epochs, BaseException | None]:
        """The next epochs (at most ``left``): one epoch, or epochs run together; and the error
        to raise after recording them (the loss diverged, or Ctrl-C in the reference's run)."""
        if not self.together:
            return [_run_epoch(self.trainer, self.batches, self.rng, self.callbacks)], None
        batches = self.batches
        steps = batches.steps_per_epoch
        count = max(1, min(left, int(self.SECONDS / self.seconds_per_epoch), self.MAX_STEPS // steps))
        if self.trainer.path != "engine":
            return self._python_epochs(count)
        order = None
        if batches.draws:  # the draws of one epoch at a time
            orders = [batches.draw(self.rng) for _ in range(count)]
            order = orders[0] if count == 1 else np.concatenate(orders)
        start = time.perf_counter()
        run = self.trainer._run_epoch(batches.X, batches.Y, batches.s, order, batches.starts, count, False)
        assert run is not None
        self.seconds_per_epoch = max(time.perf_counter() - start, 1e-9) / count
        ran = _engine_epochs(self.trainer, run, steps)
        return ran, None if run.updates == run.out.shape[0] else self.trainer.divergence(run)

    def _python_epochs(self, count: int) -> tuple[_Epochs, BaseException | None]:
        """``count`` epochs on the reference path; where one stops on a non-finite loss or
        Ctrl-C, the epochs before it and the error."""
        epochs = _Epochs([], [], [])
        stopped: BaseException | None = None
        start = time.perf_counter()
        try:
            for _ in range(count):
                done = _python_epoch(self.trainer, self.batches.epoch(self.rng), ())
                epochs.loss.append(done.loss)
                epochs.grad_norms.append(done.grad_norms)
                epochs.steps.append(done.steps)
        except (DivergenceError, KeyboardInterrupt) as error:
            stopped = error
        self.seconds_per_epoch = max(time.perf_counter() - start, 1e-9) / count
        return epochs, stopped


def _engine_epochs(trainer: Trainer, run: Run, steps: int) -> _Epochs:
    """The whole epochs of an engine's run of ``steps`` steps each, as a Python epoch sums them."""
    means = trainer.epoch_means(run, steps)
    first = trainer.steps - run.updates + steps  # the steps at the end of the first
    ends = range(first, first + means.shape[0] * steps, steps)
    return _Epochs(means[:, 0].tolist(), means[:, 1:].tolist(), list(ends))


def _run_epoch(
    trainer: Trainer, batches: Batches, rng: np.random.Generator, callbacks: Sequence[Callback]
) -> _Epoch:
    """One step per batch; a callback returning True from ``on_batch_end`` ends the epoch there.

    In the compiled engine the whole epoch is one call, unless a callback looks at every batch.
    """
    if trainer.path == "engine" and not any(_watches_batches(cb) for cb in callbacks):
        run = trainer._run_epoch(batches.X, batches.Y, batches.s, *batches.plan(rng))
        if run is not None:
            (loss,), (norms,), (steps,) = _engine_epochs(trainer, run, run.out.shape[0])
            return _Epoch(loss, norms, False, steps)
    return _python_epoch(trainer, batches.epoch(rng), callbacks)


def _watches_batches(callback: Callback) -> bool:
    return type(callback).on_batch_end is not Callback.on_batch_end


def _python_epoch(trainer: Trainer, batches: Iterable[Batch], callbacks: Sequence[Callback]) -> _Epoch:
    """The epoch step by step from Python."""
    net = trainer.net
    total_loss = seen = 0.0
    norms = [0.0] * net.D  # per layer, the sum of the batches' ||dL/dW^(h)||
    ran = 0
    stopped = False
    for Xb, Yb, sb in batches:
        loss, grads = trainer._step(Xb, Yb, sb)
        weight = Xb.shape[0] if sb is None else float(sb.sum())
        total_loss += loss * weight
        seen += weight
        for h, g in enumerate(grads.W):
            norms[h] += math.sqrt(np.vdot(g, g))
        ran += 1
        if callbacks and any(cb.on_batch_end(trainer.steps, loss, net) for cb in callbacks):
            stopped = True
            break
    return _Epoch(total_loss / seen, [norm / ran for norm in norms], stopped, trainer.steps)


def _record_epoch(
    history: History, epoch: _Epoch, trainer: Trainer, validation: tuple[Array, Array] | None
) -> None:
    """Append the epoch to ``history``: loss, gradient norms, learning rate, steps, validation."""
    _record_training(history, _Epochs([epoch.loss], [epoch.grad_norms], [epoch.steps]), trainer)
    if validation is not None:
        X_val, Y_val = validation
        net = trainer.net
        cache = net._forward(X_val)
        history.val_loss.append(net.cache_loss(cache, Y_val, trainer.l2))
        history.val_score.append(output_score(net.output.name, cache.z[-1], Y_val))


def _record_training(history: History, epochs: _Epochs, trainer: Trainer) -> None:
    """Append the epochs' loss, gradient norms and learning rate (of the next step) to ``history``."""
    history.loss.extend(epochs.loss)
    history.grad_norms.extend(epochs.grad_norms)
    history.lr.extend(trainer.lrs_at(epochs.steps))
    history.steps = epochs.steps[-1]


def _summary(history: History) -> str:
    """The last epoch's numbers beside the progress bar."""
    shown = f"loss {history.loss[-1]:.4f}"
    if history.val_loss:
        shown += f"  val_loss {history.val_loss[-1]:.4f}"
    return shown
