"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017).

Train a copy of the network for a few epochs of mini-batches while the learning rate
grows from ``lr_min`` to ``lr_max``, linearly or exponentially in the update count t
(T updates in all):

    linear       eta_t = lr_min + (lr_max - lr_min) t / (T - 1)
    exponential  eta_t = lr_min (lr_max / lr_min)^(t / (T - 1))

and record each batch's loss and score (accuracy for softmax and sigmoid outputs, R^2
for identity outputs) before its update.  Too small an eta barely moves the loss; as
eta grows the loss falls; past some eta it stops falling, turns ragged and blows up.

Smith's rule reads two bounds off the curve: base_lr where the accuracy starts to
increase and max_lr where it slows, becomes ragged or starts to fall.  Read on the
loss, which every output unit has, with L~ the loss smoothed by a centred moving
average (no lag) and "fall" = L~(first) - min L~:

    base_lr = the first eta at which L~ has made 10 % of its fall
    max_lr  = the first eta at which L~ has made 90 % of its fall

(the curve's knee before its minimum: where the fall slows).  These are the bounds
of :func:`deltaprop.schedules.triangular` and its kin.  The run stops early when the
loss becomes non-finite or its running average (exponential, weight 0.9 on the past,
bias-corrected, so that one unlucky batch does not end it) exceeds ``stop_factor``
times the smallest value of that average so far.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from deltaprop._checks import as_generator, check_positive, check_scalar
from deltaprop._types import Array, RandomState
from deltaprop.lab._hvp import check_inputs
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation
from deltaprop.train import DivergenceError, Trainer, score

MODES = ("exponential", "linear")
_BETA = 0.9  # the weight of the past in the running average that decides when to stop


@dataclass(frozen=True)
class _Ramp:
    """eta_t growing from lr_min at t = 0 to lr_max at t = total - 1."""

    lr_min: float
    lr_max: float
    total: int
    mode: str

    def __call__(self, step: int) -> float:
        fraction = min(step, self.total - 1) / max(self.total - 1, 1)
        if self.mode == "linear":
            return self.lr_min + (self.lr_max - self.lr_min) * fraction
        return self.lr_min * (self.lr_max / self.lr_min) ** fraction


class RangeTest(NamedTuple):
    """The result of :func:`lr_range_test`, one entry per update that was made.

    Attributes
    ----------
    lr : ndarray of shape (T,)
        eta_t of each update.
    loss : ndarray of shape (T,)
        The batch loss L_batch + lambda/2 ||w||^2 before the update.
    score : ndarray of shape (T,)
        The batch's accuracy (softmax, sigmoid) or R^2 (identity) before the update.
    smoothed : ndarray of shape (T,)
        The loss smoothed by a centred moving average.
    base_lr, max_lr : float
        Smith's bounds read off ``smoothed`` (module docstring); NaN if the loss never fell.
    stopped_early : bool
        True if the loss blew up (non-finite, or above stop_factor x its minimum) before lr_max.
    """

    lr: Array
    loss: Array
    score: Array
    smoothed: Array
    base_lr: float
    max_lr: float
    stopped_early: bool

    def __str__(self) -> str:
        low = int(np.argmin(self.smoothed))
        end = "stopped early: the loss blew up" if self.stopped_early else "reached lr_max"
        return (
            f"learning-rate range test: {self.lr.shape[0]} updates, eta from {self.lr[0]:.3g} to "
            f"{self.lr[-1]:.3g} ({end})\n"
            f"smoothed loss {self.smoothed[0]:.4g} -> lowest {self.smoothed[low]:.4g} at eta = "
            f"{self.lr[low]:.3g}\n"
            f"suggested range (Smith): base_lr = {self.base_lr:.3g}, max_lr = {self.max_lr:.3g}"
        )


def _centred_average(values: Array, window: int) -> Array:
    """The mean over ``window`` neighbours centred on each entry (fewer at the ends)."""
    kernel = np.ones(window)
    sums = np.convolve(values, kernel, mode="same")
    counts = np.convolve(np.ones_like(values), kernel, mode="same")
    return sums / counts


def smith_bounds(lr: Array, smoothed: Array, low: float = 0.1, high: float = 0.9) -> tuple[float, float]:
    """(base_lr, max_lr): the first eta where the smoothed loss made ``low`` and ``high`` of its fall."""
    best = int(np.argmin(smoothed))
    fall = smoothed[0] - smoothed[best]
    if not fall > 0:
        return math.nan, math.nan
    first = smoothed[: best + 1]
    base = int(np.argmax(first <= smoothed[0] - low * fall))
    top = int(np.argmax(first <= smoothed[0] - high * fall))
    return float(lr[base]), float(lr[top])


def lr_range_test(
    net: Network,
    X: Any,
    Y: Any,
    lr_min: float = 1e-5,
    lr_max: float = 10.0,
    epochs: int = 3,
    batch_size: int = 32,
    mode: str = "exponential",
    l2: float = 0.0,
    optimizer: str | Callable[[Any], GradientTransformation] = "gd",
    smooth: float = 0.05,
    stop_factor: float = 4.0,
    random_state: RandomState = None,
) -> RangeTest:
    """Smith's learning-rate range test: train while eta grows, and suggest a range.

    A copy of ``net`` is trained (``net`` itself is not changed) with
    :class:`deltaprop.train.Trainer` on mini-batches of a fresh permutation each epoch,
    eta_t ramping from ``lr_min`` to ``lr_max`` over all updates.

    Parameters
    ----------
    net : Network
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
    lr_min, lr_max : float, default 1e-5 and 10
        The first and the last learning rate, 0 < lr_min < lr_max.
    epochs : int, default 3
        Passes over the data; T = epochs x ceil(n / batch_size) updates.
    batch_size : int, default 32
        Rows per update (at most n).
    mode : {"exponential", "linear"}, default "exponential"
        How eta grows with the update count (module docstring).
    l2 : float, default 0
        The lecture's lambda.
    optimizer : str or callable, default "gd"
        A name of :func:`deltaprop.optim.by_name`, or ``lambda schedule: transformation``
        building your own gradient transformation from the ramp.
    smooth : float, default 0.05
        The moving average's window as a fraction of T (at least 1 update).
    stop_factor : float, default 4
        Stop once the running average of the loss exceeds stop_factor x its smallest so far.
    random_state : None, int or Generator
        Seeds the batches' permutations.

    Returns
    -------
    RangeTest
        ``lr``, ``loss``, ``score`` and ``smoothed`` per update, and Smith's
        ``base_lr`` and ``max_lr``; ``print(result)`` summarises.

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(256, 4))
    >>> Y = X @ rng.normal(size=(4, 1))
    >>> net = Network([4, 1], output="identity", random_state=0)
    >>> result = lr_range_test(net, X, Y, lr_min=1e-4, lr_max=10.0, epochs=4, random_state=0)
    >>> bool(result.lr[0] < result.base_lr < result.max_lr < result.lr[-1])
    True
    """
    X, Y, l2, _ = check_inputs(net, X, Y, l2, None)
    lr_min = check_positive(lr_min, "lr_min")
    lr_max = check_positive(lr_max, "lr_max")
    if lr_max <= lr_min:
        raise ValueError(f"The 'lr_max' parameter must be > lr_min = {lr_min}. Got {lr_max!r} instead.")
    check_scalar(epochs, "epochs", low=1, integer=True)
    check_scalar(batch_size, "batch_size", low=1, integer=True)
    if mode not in MODES:
        raise ValueError(f"The 'mode' parameter must be one of {list(MODES)}. Got {mode!r} instead.")
    smooth = check_positive(smooth, "smooth")
    stop_factor = check_positive(stop_factor, "stop_factor")
    if stop_factor <= 1:
        raise ValueError(f"The 'stop_factor' parameter must be > 1. Got {stop_factor!r} instead.")
    rng = as_generator(random_state)
    n = X.shape[0]
    batch_size = min(int(batch_size), n)
    per_epoch = math.ceil(n / batch_size)
    total = int(epochs) * per_epoch
    ramp = _Ramp(lr_min, lr_max, total, mode)
    trained = net.copy()
    if isinstance(optimizer, str):
        trainer = Trainer(trained, optimizer=optimizer, learning_rate=ramp, l2=l2)
    elif callable(optimizer):
        trainer = Trainer(trained, optimizer=optimizer(ramp), l2=l2)
    else:
        raise TypeError(
            "The 'optimizer' parameter must be a name or a function of the schedule. "
            f"Got {type(optimizer).__name__} instead."
        )

    lrs: list[float] = []
    losses: list[float] = []
    scores: list[float] = []
    stopped = False
    running, lowest = 0.0, math.inf  # the exponential average of the loss decides when to stop
    # Near lr_max the iterates blow up on purpose; that ends the run, it is not an error.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(int(epochs)):
            order = rng.permutation(n)
            for start in range(0, n, batch_size):
                rows = order[start : start + batch_size]
                Xb, Yb = X[rows], Y[rows]
                f = trained.predict(Xb)
                lr = ramp(trainer.steps)
                try:
                    loss = trainer.step(Xb, Yb)
                except DivergenceError:
                    stopped = True
                    break
                lrs.append(lr)
                losses.append(loss)
                scores.append(score(trained.output.name, f, Yb) if np.isfinite(f).all() else math.nan)
                running = _BETA * running + (1.0 - _BETA) * loss
                average = running / (1.0 - _BETA ** len(losses))  # bias-corrected
                lowest = min(lowest, average)
                if not average <= stop_factor * lowest:
                    stopped = True
                    break
            if stopped:
                break
    if not losses:
        raise ValueError(
            f"The loss was not finite at the first update (eta = {lr_min}); lower lr_min, or "
            "standardise the inputs."
        )
    loss_array = np.array(losses)
    lr_array = np.array(lrs)
    window = max(1, round(smooth * total))
    smoothed = _centred_average(loss_array, window)
    base_lr, max_lr = smith_bounds(lr_array, smoothed)
    return RangeTest(lr_array, loss_array, np.array(scores), smoothed, base_lr, max_lr, stopped)
