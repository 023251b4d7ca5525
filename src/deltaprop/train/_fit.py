"""The practical training loop, :func:`fit`.

Any optimiser of :mod:`deltaprop.optim`, mini-batches (``batch_size``; the full batch
by default), epochs with reshuffling, validation, early stopping that restores the
best weights, a :class:`History`, callbacks, a progress bar, and a clean stop on
Ctrl-C, around the gradient of :func:`~deltaprop.train.gradient_descent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop._checks import as_generator, check_matrix, check_scalar
from deltaprop._types import Array, Params, RandomState
from deltaprop.metrics import output_score
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation
from deltaprop.schedules import LearningRate, ReduceOnPlateau
from deltaprop.train._batches import epoch_batches
from deltaprop.train._callbacks import Callback, EpochFunction, as_callback
from deltaprop.train._history import History
from deltaprop.train._progress import ProgressBar
from deltaprop.train._split import split_validation
from deltaprop.train._trainer import Trainer

MONITORS = ("loss", "val_loss", "val_score")


def fit(
    net: Network,
    X: Any,
    Y: Any,
    *,
    optimizer: str | GradientTransformation | Trainer = "gd",
    learning_rate: LearningRate = 0.1,
    l2: float = 0.0,
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
        See :class:`Trainer`; a Trainer continues with its optimiser state.
    learning_rate : float or schedule, default 0.1
    l2 : float, default 0
        The lecture's lambda (penalty lambda/2 ||w||^2 on the weights only).
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
        Continue appending to this History (e.g. after resuming).
    **options
        Hyper-parameters of the named optimiser.

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        On a non-finite loss; ``net`` keeps the parameters of the last finite step.

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
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[0])
    s = net.check_sample_weight(sample_weight, X.shape[0])
    check_scalar(epochs, "epochs", low=0, integer=True)
    check_scalar(tol, "tol", low=0.0)
    check_scalar(n_iter_no_change, "n_iter_no_change", low=1, integer=True)
    rng = as_generator(random_state)
    trainer = (
        optimizer if isinstance(optimizer, Trainer) else Trainer(net, optimizer, learning_rate, l2, **options)
    )
    if trainer.net is not net:
        raise ValueError("The Trainer passed as 'optimizer' trains another network.")

    X_val: Array | None = None
    Y_val: Array | None = None
    if validation_data is not None and validation_fraction is not None:
        raise ValueError("Give either 'validation_data' or 'validation_fraction', not both.")
    if validation_data is not None:
        X_val = check_matrix(validation_data[0], "X_val", net.dtype, n_columns=net.sizes[0])
        Y_val = net.check_Y(validation_data[1], X_val.shape[0])
    elif validation_fraction is not None:
        check_scalar(validation_fraction, "validation_fraction", low=0.0, low_inclusive=False)
        if validation_fraction >= 1:
            raise ValueError(f"The 'validation_fraction' parameter must be < 1. Got {validation_fraction}.")
        labels = Y.argmax(axis=1) if net.output.name == "softmax" else None
        train, val = split_validation(X.shape[0], validation_fraction, rng, labels=labels)
        if val.size == 0 or train.size == 0:
            raise ValueError(
                f"validation_fraction={validation_fraction} leaves {val.size} of {X.shape[0]} samples "
                "for validation; both parts need at least one sample."
            )
        X_val, Y_val = X[val], Y[val]
        X, Y = X[train], Y[train]
        s = None if s is None else s[train]
    n = X.shape[0]
    if batch_size is None:
        batch_size = n
    check_scalar(batch_size, "batch_size", low=1, integer=True)
    batch_size = min(batch_size, n)
    if monitor is None:
        monitor = "val_loss" if X_val is not None else "loss"
    if monitor not in MONITORS:
        raise ValueError(f"The 'monitor' parameter must be one of {list(MONITORS)}. Got {monitor!r} instead.")
    if monitor != "loss" and X_val is None:
        raise ValueError(
            f"monitor={monitor!r} needs validation data: give 'validation_data' or 'validation_fraction'."
        )
    all_callbacks = [as_callback(cb) for cb in callbacks]
    history = History() if history is None else history
    sign = -1.0 if monitor == "val_score" else 1.0  # minimise sign * value
    best_value = np.inf
    best_params: Params | None = None
    no_improvement = 0
    for value in np.multiply(sign, getattr(history, monitor)):  # a resumed run goes on counting
        no_improvement = 0 if value < best_value - tol else no_improvement + 1
        best_value = min(best_value, value)
    # Shuffled batches are gathered into one reused buffer, never a fresh copy per batch.
    full_batch = batch_size == n
    X_buffer = None if full_batch or not shuffle else np.empty((batch_size, X.shape[1]), net.dtype)
    Y_buffer = None if X_buffer is None else np.empty((batch_size, Y.shape[1]), net.dtype)
    for cb in all_callbacks:
        cb.on_train_begin(trainer, rng)
    with ProgressBar(epochs, enabled=verbose) as progress:
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for epoch in range(history.epochs, history.epochs + epochs):
                    total_loss = seen = 0.0
                    norms = np.zeros(net.D)
                    ran = 0
                    batches = [slice(0, n)] if full_batch else epoch_batches(n, batch_size, shuffle, rng)
                    stop = False
                    for index in batches:
                        if isinstance(index, slice):
                            Xb, Yb = X[index], Y[index]  # views
                        else:
                            assert X_buffer is not None and Y_buffer is not None
                            # mode="clip" (the indices are valid) lets take write straight into out
                            Xb = X.take(index, axis=0, out=X_buffer[: index.size], mode="clip")
                            Yb = Y.take(index, axis=0, out=Y_buffer[: index.size], mode="clip")
                        sb = None if s is None else s[index]
                        loss, grads = trainer._step(Xb, Yb, sb)
                        weight = Xb.shape[0] if sb is None else float(sb.sum())
                        total_loss += loss * weight
                        seen += weight
                        norms += [np.sqrt(np.vdot(g, g)) for g in grads.W]
                        ran += 1
                        if all_callbacks and any(
                            cb.on_batch_end(trainer.steps, loss, net) for cb in all_callbacks
                        ):
                            stop = True
                            break
                    history.loss.append(total_loss / seen)
                    history.grad_norms.append((norms / ran).tolist())  # a callback may stop mid-epoch
                    history.lr.append(trainer.current_lr)
                    history.steps = trainer.steps
                    if X_val is not None and Y_val is not None:
                        cache = net._forward(X_val)
                        history.val_loss.append(net.cache_loss(cache, Y_val, trainer.l2))
                        history.val_score.append(output_score(net.output.name, cache.z[-1], Y_val))
                    if isinstance(trainer.learning_rate, ReduceOnPlateau):
                        trainer.learning_rate.observe(history.loss[-1])
                    value = sign * getattr(history, monitor)[-1]
                    if value < best_value - tol:
                        no_improvement = 0
                    else:
                        no_improvement += 1
                    if value < best_value:
                        best_value = value
                        history.best_epoch = epoch
                        if early_stopping and restore_best:
                            best_params = Params([w.copy() for w in net.W], [v.copy() for v in net.b])
                    shown = f"loss {history.loss[-1]:.4f}"
                    if history.val_loss:
                        shown += f"  val_loss {history.val_loss[-1]:.4f}"
                    progress.advance(shown)
                    stop |= any(cb.on_epoch_end(epoch, history, net) for cb in all_callbacks)
                    if stop:
                        history.stop_reason = "callback"
                        break
                    if early_stopping and no_improvement >= n_iter_no_change:
                        history.stop_reason = "no_improvement"
                        break
        except KeyboardInterrupt:
            history.stop_reason = "interrupted"
    if best_params is not None:
        net.params = best_params
    return history
