"""Learning-rate schedules: eta_t as a function of t, the number of updates applied.

An optimiser of :mod:`deltaprop.optim` takes its learning rate as a number or as a
schedule, any callable ``step -> float``; :func:`get_lr` reads either.  The
schedules here are small records: they print as the call that builds them, and a
checkpoint (:mod:`deltaprop.checkpoint`) stores them by name and fields, which a
function of your own cannot be.  :func:`triangular`, :func:`triangular2` and
:func:`exp_range` are Smith's cyclical learning rates (WACV 2017).
:class:`ReduceOnPlateau` is the one with state: the training loop shows it each
epoch's loss, as scikit-learn's "adaptive" rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

from deltaprop._checks import check_below_one, check_positive, check_scalar

Schedule = Callable[[int], float]
LearningRate = float | Schedule


def get_lr(learning_rate: LearningRate, step: int) -> float:
    """The learning rate at ``step`` (updates already applied): the number, or ``schedule(step)``.

    >>> get_lr(0.1, 7), get_lr(lambda step: 1.0 / (step + 1), 3)
    (0.1, 0.25)
    """
    return float(learning_rate(step)) if callable(learning_rate) else float(learning_rate)


class Record:
    """A schedule's parameters as an immutable record that prints as the call that builds it.

    Equal records compare and hash equal, pickle by their values, and :meth:`as_dict`
    gives the factory's keyword arguments (what a checkpoint stores).  Plain classes
    with ``__slots__``, not dataclasses: those write and compile their methods at
    import (this module took 5.9 ms to import with seven dataclasses, 0.4 ms now), a
    tenth of a small fit such as the lecture's two moons.
    """

    __slots__ = ()
    _factory: ClassVar[str]
    _fields: ClassVar[tuple[str, ...]]  # the factory's arguments, in order

    def __init__(self, *values: float) -> None:
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def as_dict(self) -> dict[str, float]:
        """The keyword arguments of the factory that builds this schedule."""
        return dict(zip(self._fields, self._values(), strict=True))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.as_dict().items())
        return f"{self._factory}({args})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"A {self._factory} schedule cannot be changed; build a new one.")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"A {self._factory} schedule cannot be changed; build a new one.")

    def __reduce__(self) -> tuple[type, tuple[float, ...]]:
        return type(self), self._values()


class _Constant(Record):
    _factory = "constant"
    __slots__ = _fields = ("lr",)
    lr: float

    def __call__(self, step: int) -> float:
        return self.lr


class _InverseScaling(Record):
    _factory = "inverse_scaling"
    __slots__ = _fields = ("lr", "power_t")
    lr: float
    power_t: float

    def __call__(self, step: int) -> float:
        return self.lr / (step + 1) ** self.power_t


class _StepDecay(Record):
    _factory = "step_decay"
    __slots__ = _fields = ("lr", "step_size", "gamma")
    lr: float
    step_size: int
    gamma: float

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)


class _CosineDecay(Record):
    _factory = "cosine_decay"
    __slots__ = _fields = ("lr", "total_steps", "final_lr")
    lr: float
    total_steps: int
    final_lr: float

    def __call__(self, step: int) -> float:
        progress = min(step, self.total_steps) / self.total_steps
        return self.final_lr + 0.5 * (self.lr - self.final_lr) * (1.0 + math.cos(math.pi * progress))


class _Triangular(Record):
    _factory = "triangular"
    __slots__ = ("base_lr", "max_lr", "step_size")
    _fields: ClassVar[tuple[str, ...]] = __slots__
    base_lr: float
    max_lr: float
    step_size: int

    def _scale(self, step: int, cycle: int) -> float:
        return 1.0

    def __call__(self, step: int) -> float:
        # Smith (2017): cycle = floor(1 + t / (2 s)), x = |t / s - 2 cycle + 1|
        cycle = math.floor(1 + step / (2 * self.step_size))
        x = abs(step / self.step_size - 2 * cycle + 1)
        return self.base_lr + (self.max_lr - self.base_lr) * max(0.0, 1.0 - x) * self._scale(step, cycle)


class _Triangular2(_Triangular):
    _factory = "triangular2"
    __slots__ = ()

    def _scale(self, step: int, cycle: int) -> float:
        return 1.0 / 2.0 ** (cycle - 1)  # the amplitude halves every cycle


class _ExpRange(_Triangular):
    _factory = "exp_range"
    __slots__ = ("gamma",)
    _fields = (*_Triangular._fields, "gamma")
    gamma: float

    def _scale(self, step: int, cycle: int) -> float:
        return self.gamma**step  # the amplitude shrinks by gamma every update


def constant(lr: float) -> Schedule:
    """eta_t = lr.

    >>> constant(0.1)(1000)
    0.1
    """
    return _Constant(check_positive(lr, "lr"))


def inverse_scaling(lr: float, power_t: float = 0.5) -> Schedule:
    """eta_t = lr / (t + 1)^power_t, t the number of updates applied.

    scikit-learn's learning_rate="invscaling" uses the same formula with t the
    number of *samples* seen, updated once per epoch; here t counts updates.

    >>> inverse_scaling(1.0, power_t=0.5)(3)
    0.5
    """
    return _InverseScaling(check_positive(lr, "lr"), float(check_scalar(power_t, "power_t", low=0.0)))


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """eta_t = lr gamma^floor(t / step_size): multiplied by gamma every step_size updates.

    >>> [step_decay(1.0, step_size=2, gamma=0.5)(t) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    gamma = float(check_scalar(gamma, "gamma", low=0.0, low_inclusive=False))
    if gamma > 1:
        raise ValueError(f"The 'gamma' parameter must be in (0, 1]. Got {gamma!r} instead.")
    return _StepDecay(
        check_positive(lr, "lr"), int(check_scalar(step_size, "step_size", low=1, integer=True)), gamma
    )


def cosine_decay(lr: float, total_steps: int, final_lr: float = 0.0) -> Schedule:
    """eta_t = final_lr + (lr - final_lr) (1 + cos(pi min(t, T) / T)) / 2,  T = total_steps.

    >>> s = cosine_decay(1.0, total_steps=4)
    >>> [round(s(t), 6) for t in (0, 2, 4, 9)]
    [1.0, 0.5, 0.0, 0.0]
    """
    lr = check_positive(lr, "lr")
    final_lr = float(check_scalar(final_lr, "final_lr", low=0.0))
    if final_lr > lr:
        raise ValueError(f"The 'final_lr' parameter must be <= lr = {lr}. Got {final_lr!r} instead.")
    return _CosineDecay(lr, int(check_scalar(total_steps, "total_steps", low=1, integer=True)), final_lr)


def _check_cycle(base_lr: float, max_lr: float, step_size: int) -> tuple[float, float, int]:
    base_lr = check_positive(base_lr, "base_lr")
    max_lr = check_positive(max_lr, "max_lr")
    if max_lr < base_lr:
        raise ValueError(f"The 'max_lr' parameter must be >= base_lr = {base_lr}. Got {max_lr!r} instead.")
    return base_lr, max_lr, int(check_scalar(step_size, "step_size", low=1, integer=True))


def triangular(base_lr: float, max_lr: float, step_size: int) -> Schedule:
    """Smith's cyclical learning rate: eta_t goes linearly from base_lr up to max_lr and back.

    One cycle is 2 step_size updates (Smith, "Cyclical Learning Rates for Training Neural
    Networks", WACV 2017, who suggests step_size = 2 to 10 epochs of updates)::

        cycle = floor(1 + t / (2 step_size)),   x = |t / step_size - 2 cycle + 1|
        eta_t = base_lr + (max_lr - base_lr) max(0, 1 - x)

    :func:`deltaprop.lab.lr_range_test` suggests base_lr and max_lr.

    >>> [round(triangular(0.1, 0.5, step_size=2)(t), 6) for t in range(5)]
    [0.1, 0.3, 0.5, 0.3, 0.1]
    """
    return _Triangular(*_check_cycle(base_lr, max_lr, step_size))


def triangular2(base_lr: float, max_lr: float, step_size: int) -> Schedule:
    """:func:`triangular` with the amplitude halved after every cycle (Smith 2017).

    eta_t = base_lr + (max_lr - base_lr) max(0, 1 - x) / 2^(cycle - 1).

    >>> [round(triangular2(0.1, 0.5, step_size=2)(t), 6) for t in range(9)]
    [0.1, 0.3, 0.5, 0.3, 0.1, 0.2, 0.3, 0.2, 0.1]
    """
    return _Triangular2(*_check_cycle(base_lr, max_lr, step_size))


def exp_range(base_lr: float, max_lr: float, step_size: int, gamma: float) -> Schedule:
    """:func:`triangular` with the amplitude multiplied by gamma^t (Smith 2017).

    eta_t = base_lr + (max_lr - base_lr) max(0, 1 - x) gamma^t, with 0 < gamma <= 1
    (gamma = 1 is :func:`triangular`).

    >>> [round(exp_range(0.1, 0.5, step_size=2, gamma=0.5)(t), 6) for t in range(5)]
    [0.1, 0.2, 0.2, 0.125, 0.1]
    """
    gamma = float(check_scalar(gamma, "gamma", low=0.0, low_inclusive=False))
    if gamma > 1:
        raise ValueError(f"The 'gamma' parameter must be in (0, 1]. Got {gamma!r} instead.")
    return _ExpRange(*_check_cycle(base_lr, max_lr, step_size), gamma)


class ReduceOnPlateau:
    """A learning rate divided by 1/factor when the loss stops improving.

    The training loop calls :meth:`observe` once per epoch with the epoch's loss;
    the optimiser calls the object with its step count and gets the current rate::

        improved  = loss <= best - tol;      best = min(best, loss)
        bad       = 0 if improved else bad + 1
        if bad == patience:   lr = max(lr / (1 / factor), min_lr);  bad = 0

    This is scikit-learn's learning_rate="adaptive" rule (``_update_no_improvement_count``
    and ``SGDOptimizer.trigger_stopping``) with the same comparisons and the same
    ``lr /= 5``.  Its documentation says "2 consecutive epochs", which is the default
    ``patience=2``; its code reduces when the count *exceeds* ``n_iter_no_change``
    (10), i.e. after 11 epochs: ``patience=n_iter_no_change + 1`` reproduces it exactly.
    Two differences: scikit-learn stops training instead of reducing once lr <= 1e-6
    (here the rate is floored at ``min_lr`` and stopping is the loop's business),
    and a NaN loss counts as no improvement here, as an improvement there.  To
    follow a score that should rise, observe ``-score``.

    Attributes
    ----------
    lr : float
        The current learning rate.
    best : float
        The lowest loss observed (inf before the first).
    bad_epochs : int
        Consecutive observations without an improvement of at least tol.

    Examples
    --------
    >>> schedule = ReduceOnPlateau(0.1, factor=0.5, patience=2)
    >>> for loss in [1.0, 0.5, 0.5, 0.5]:
    ...     schedule.observe(loss)
    >>> schedule(0)
    0.05
    """

    def __init__(
        self, lr: float, factor: float = 0.2, patience: int = 2, tol: float = 1e-4, min_lr: float = 0.0
    ) -> None:
        self.initial_lr = check_positive(lr, "lr")
        self.factor = check_below_one(factor, "factor", low_inclusive=False)
        self.patience = int(check_scalar(patience, "patience", low=1, integer=True))
        self.tol = float(check_scalar(tol, "tol", low=0.0))
        self.min_lr = float(check_scalar(min_lr, "min_lr", low=0.0))
        if self.min_lr > self.initial_lr:
            raise ValueError(f"The 'min_lr' parameter must be <= lr = {lr}. Got {min_lr!r} instead.")
        self.lr = self.initial_lr
        self.best = math.inf
        self.bad_epochs = 0

    def __call__(self, step: int) -> float:
        return self.lr

    def observe(self, loss: float) -> None:
        """Record one epoch's loss; reduce the rate after ``patience`` epochs without improvement."""
        loss = float(loss)
        if loss <= self.best - self.tol:
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if loss < self.best:
            self.best = loss
        if self.bad_epochs >= self.patience:
            # Divide by 1/factor, as scikit-learn's lr /= 5: 0.1 * 0.2 != 0.1 / 5 in floating point.
            self.lr = max(self.lr / (1.0 / self.factor), self.min_lr)
            self.bad_epochs = 0

    def __repr__(self) -> str:
        return (
            f"ReduceOnPlateau(lr={self.initial_lr!r}, factor={self.factor!r}, patience={self.patience!r}, "
            f"tol={self.tol!r}, min_lr={self.min_lr!r})"
        )
