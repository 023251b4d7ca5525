"""Callbacks: how code of one's own sees (and may stop) :func:`deltaprop.train.fit`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deltaprop.network import Network
from deltaprop.train._history import History
from deltaprop.train._trainer import Trainer

# A plain function called at the end of every epoch; True stops training.
EpochFunction = Callable[[int, History, Network], bool | None]


class Callback:
    """Base class of training callbacks; override any of the methods.

    A method returning True asks training to stop after the current batch or epoch.
    A plain function ``fn(epoch, history, net)`` passed to :func:`fit` is used as
    ``on_epoch_end`` (see :func:`as_callback`).
    """

    def on_train_begin(self, trainer: Trainer, rng: np.random.Generator) -> None:
        """Called once before the first epoch with the trainer and the shuffling generator."""

    def on_batch_end(self, step: int, loss: float, net: Network) -> bool | None:
        """Called after every parameter update with the batch loss before it."""
        return None

    def on_epoch_end(self, epoch: int, history: History, net: Network) -> bool | None:
        """Called after every epoch, once ``history`` holds its entries."""
        return None


class _FunctionCallback(Callback):
    """A function ``fn(epoch, history, net)`` as a Callback's ``on_epoch_end``."""

    def __init__(self, fn: EpochFunction) -> None:
        self.fn = fn

    def on_epoch_end(self, epoch: int, history: History, net: Network) -> bool | None:
        return self.fn(epoch, history, net)


def as_callback(callback: Callback | EpochFunction) -> Callback:
    """``callback`` as a :class:`Callback`: a Callback as it is, a function as its ``on_epoch_end``.

    This is how :func:`fit` reads each item of its ``callbacks``.

    Parameters
    ----------
    callback : Callback or function ``fn(epoch, history, net) -> bool | None``
        A function is called after every epoch; returning True stops training.

    Returns
    -------
    Callback

    Raises
    ------
    TypeError
        If ``callback`` is neither a Callback nor callable.

    Examples
    --------
    >>> def stop_after_two(epoch, history, net):
    ...     return epoch == 1
    >>> cb = as_callback(stop_after_two)
    >>> cb.on_epoch_end(0, History(), None), cb.on_epoch_end(1, History(), None)
    (False, True)
    >>> as_callback(cb) is cb
    True
    """
    if isinstance(callback, Callback):
        return callback
    if callable(callback):
        return _FunctionCallback(callback)
    raise TypeError(
        "A callback must be a deltaprop.train.Callback or a function fn(epoch, history, net). "
        f"Got {type(callback).__name__} instead."
    )
