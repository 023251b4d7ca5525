"""The Trainer: one network, one optimiser and its state, one step at a time.

Public as :class:`deltaprop.train.Trainer`; :func:`deltaprop.train.fit` drives it over
epochs.  A step is the lecture's forward pass, loss, backpropagation and update,
computed by one of two paths:

- ``"numpy"``, the reference: ``Network._forward``, ``Network.cache_loss``,
  ``Network._backward``, the optimiser's ``update`` and :func:`apply_updates`, the pure
  NumPy of the lecture's modules.  Everything runs here: user-defined activations,
  output units and transformations too.
- ``"engine"``, the compiled engine (:mod:`deltaprop.engine`): the same step for the
  built-in activations and output units, float32 or float64, and the named optimisers
  (with clipping), proven equal to the reference by ``tests/test_engine.py``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from deltaprop._checks import check_scalar
from deltaprop._types import Array, Grads, State
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation, apply_updates, by_name
from deltaprop.schedules import LearningRate, get_lr
from deltaprop.train._interrupts import HeldInterrupt

if TYPE_CHECKING:
    from deltaprop.engine import Engine, Run

PATHS = ("auto", "engine", "numpy")
DEFAULT_LEARNING_RATE = 0.1
# How "auto" weighs the engine's start-up (numba's import and loading the compiled code
# from its cache: 0.4-0.7 s warm, more the first time) against what it saves per step
# over the reference: about ENGINE_SAVES_PER_STEP seconds plus ENGINE_SAVES_PER_MAC per
# multiply-add of the forward pass (batch rows x weights).  The choice depends on the
# work alone, never on what ran before in the process: same seed, same bits.
ENGINE_START_UP = 1.0
ENGINE_SAVES_PER_STEP = 30e-6
ENGINE_SAVES_PER_MAC = 0.5e-9


def engine() -> ModuleType:
    """:mod:`deltaprop.engine`, imported on first use: training that stays on the reference
    never loads the engine's modules (nor numba, which the engine loads when it first runs)."""
    import deltaprop.engine

    return deltaprop.engine


def engine_pays(steps: int, multiply_adds: float) -> bool:
    """Whether ``steps`` steps (or evaluations) of ``multiply_adds`` forward multiply-adds in all
    (batch rows x weights, summed) save more than loading the compiled engine costs.

    The rule of ``path="auto"`` everywhere (:class:`Trainer`, :class:`FullBatchObjective`,
    :class:`deltaprop.dask.DaskObjective`): by the work alone, never by what ran before.
    """
    return steps * ENGINE_SAVES_PER_STEP + multiply_adds * ENGINE_SAVES_PER_MAC >= ENGINE_START_UP


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the network keeps its last finite parameters."""


def _divergence_message(step: int, loss: float) -> str:
    return (
        f"The loss became {loss} at step {step}: training diverged. The network keeps the "
        "parameters of the last step with a finite loss. Try a lower learning rate, or "
        "standardise the inputs (zero mean, unit variance)."
    )


class Trainer:
    """One network, one optimiser, and their state: the unit of incremental training.

    :func:`fit` drives a Trainer over epochs; call :meth:`step` yourself to train on a
    stream of batches (``partial_fit``-style, e.g. out of core).

    The steps run on the reference path ("numpy": the lecture's pure functions) or in
    the compiled engine ("engine", for built-in activations, output units and named
    optimisers); ``trainer.path`` says which.  The numbers are the reference's (the
    engine's within rounding, tested after 50 steps).  ``net.W`` and ``net.b`` stay the
    network's own arrays: the reference replaces them by new ones each step, the engine
    writes each run's result back into them.

    Parameters
    ----------
    net : Network
        Trained in place.
    optimizer : str or GradientTransformation, default "gd"
        A name of :func:`deltaprop.optim.by_name` ("gd", "sgd", "momentum", "nesterov",
        "adam", "adamw") or a gradient transformation, which carries its own learning rate.
    learning_rate : float or schedule, optional
        The named optimiser's learning rate (default 0.1).  Not with a
        GradientTransformation (TypeError: give it to the transformation).
    l2 : float, default 0
        The lecture's lambda: every step's gradient is that of L_batch + lambda/2 ||w||^2.
    path : {"auto", "engine", "numpy"}, default "auto"
        Which code computes the steps: the compiled engine (where it covers the network
        and optimiser), the reference, or (``"auto"``) the engine where the work ahead
        pays for its start-up (``ENGINE_START_UP``), judged by the work alone.
    **options
        Hyper-parameters of the named optimiser (``beta``, ``b1``, ``weight_decay`` ...).

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network, Trainer
    >>> net = Network([2, 4, 1], activation="tanh", output="identity", random_state=0)
    >>> trainer = Trainer(net, optimizer="adam", learning_rate=0.01)
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(3):  # a stream of batches
    ...     X = rng.normal(size=(16, 2))
    ...     loss = trainer.step(X, X[:, :1] * X[:, 1:])
    >>> trainer.steps
    3
    """

    def __init__(
        self,
        net: Network,
        optimizer: str | GradientTransformation = "gd",
        learning_rate: LearningRate | None = None,
        l2: float = 0.0,
        *,
        path: str = "auto",
        **options: Any,
    ) -> None:
        check_scalar(l2, "l2", low=0.0)
        if path not in PATHS:
            raise ValueError(f"The 'path' parameter must be one of {list(PATHS)}. Got {path!r} instead.")
        self.path_setting = path
        self.net = net
        self.l2 = l2
        self.learning_rate: LearningRate | None
        self.optimizer_name = optimizer if isinstance(optimizer, str) else None
        self.options = options
        if isinstance(optimizer, str):
            rate = DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate
            self.optimizer = by_name(optimizer, rate, **options)
            self.learning_rate = rate
        elif isinstance(optimizer, GradientTransformation):
            if learning_rate is not None:
                raise TypeError(
                    f"learning_rate={learning_rate!r} was given with a GradientTransformation as "
                    "'optimizer', which carries its own learning rate and would ignore it; give the "
                    "rate to the transformation (e.g. adam(0.01)) or the optimiser by name."
                )
            if options:
                raise TypeError(f"Options {sorted(options)} apply only to an optimizer given by name.")
            self.optimizer = optimizer
            self.learning_rate = None
        else:
            raise TypeError(
                "The 'optimizer' parameter must be a name or a GradientTransformation. "
                f"Got {type(optimizer).__name__} instead."
            )
        self._state: State = self.optimizer.init(net.params)  # None while the engine holds it
        self._engine: Engine | None = None
        self._chosen_for: tuple[GradientTransformation, tuple[int, float], int] | None = None
        self._ahead = (0, 0.0)  # steps and forward multiply-adds ahead, as fit announces them
        self._rows = 0  # the rows of the last batch
        self.steps = 0

    @property
    def state(self) -> State:
        """The optimiser state, one array per W^(h) and b^(h), as ``optimizer.init`` makes it."""
        return self._state if self._engine is None else self._engine.state

    @state.setter
    def state(self, state: State) -> None:
        if self._engine is None:
            self._state = state
        else:
            self._engine.state = state

    @property
    def path(self) -> str:
        """Which code computes the steps: "engine" (compiled) or "numpy" (the reference)."""
        self._choose_path()
        return "engine" if self._engine is not None else "numpy"

    def describe_path(self) -> str:
        """One line on which code computes the steps, and why (``fit(..., verbose=True)`` shows it)."""
        if self.path == "engine":
            if engine().fused(self.net):
                threads = engine().threads_for(self._rows, sum(w.size for w in self.net.W))
                how = "whole epochs per compiled call" + (f", on {threads} threads" if threads > 1 else "")
            else:
                how = "compiled loops between NumPy's ufuncs"
            return f"deltaprop: training in the compiled engine ({how})"
        if not engine().supports(self.net, self.optimizer):
            why = (
                "a user-defined activation, output unit or optimiser, or a dtype the engine does not compile"
            )
        elif self.path_setting == "numpy":
            why = "path='numpy'"
        else:
            why = "the work is too small to pay for loading the compiled engine"
        return f"deltaprop: training on the reference NumPy path ({why})"

    def plan(self, steps: int, rows: int) -> None:
        """Announce ``steps`` steps on batches of ``rows`` samples (fit does), for ``path="auto"``."""
        ahead = (steps, float(steps) * rows * sum(w.size for w in self.net.W))
        if ahead != self._ahead:
            self._ahead = ahead
        self._rows = rows

    def _choose_path(self) -> None:
        """The engine where it computes this network and optimiser and pays, else the reference.

        With ``path="auto"`` the engine runs where the steps ahead (announced by
        :meth:`plan`, else this one) save more than its start-up: ``ENGINE_START_UP``
        seconds against ``ENGINE_SAVES_PER_STEP`` per step plus ``ENGINE_SAVES_PER_MAC``
        per multiply-add.  The lecture's toy fit
        (two moons, [2, 8, 8, 2], 200 samples, 500 steps) stays on the reference.
        Decided again when ``optimizer`` is replaced or the work ahead changes; the
        optimiser state moves along.
        """
        asked = (self.optimizer, self._ahead, self._rows)
        if self._chosen_for is not None and all(map(operator.is_, self._chosen_for, asked)):
            return  # nothing changed since the last decision
        self._chosen_for = asked
        if self.path_setting == "auto":
            steps, work = self._ahead
            if not steps:  # nothing announced: this step alone
                steps, work = 1, float(self._rows) * sum(w.size for w in self.net.W)
            wanted = engine_pays(steps, work)
        else:
            wanted = self.path_setting == "engine"
        use_engine = wanted and engine().supports(self.net, self.optimizer)
        if use_engine and self._engine is None:
            # one copy of the state, the engine's
            self._engine, self._state = engine().Engine(self.state), None
        elif not use_engine and self._engine is not None:
            self._state = self._engine.state
            self._engine = None

    @property
    def current_lr(self) -> float:
        """The learning rate of the next step (NaN for a custom optimiser)."""
        return self.lr_at(self.steps)

    def lr_at(self, steps: int) -> float:
        """The learning rate of the step after ``steps`` steps (NaN for a custom optimiser)."""
        return float("nan") if self.learning_rate is None else get_lr(self.learning_rate, steps)

    def lrs_at(self, steps: Sequence[int]) -> list[float]:
        """:meth:`lr_at` of each of ``steps``."""
        lr = self.learning_rate
        if lr is None or not callable(lr):
            return [self.lr_at(0)] * len(steps)  # the same number after any steps
        return [get_lr(lr, s) for s in steps]

    def step(self, X: Any, Y: Any, sample_weight: Any = None) -> float:
        """One update on the batch (X, Y); returns the batch loss before the update."""
        X = self.net.check_X(X)
        Y = self.net.check_Y(Y, X.shape[0])
        s = self.net.check_sample_weight(sample_weight, X.shape[0])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss, _ = self._step(X, Y, s)
        return loss

    def _step(self, X: Array, Y: Array, s: Array | None) -> tuple[float, Grads]:
        """The hot path on validated arrays: forward, loss, backward, update.

        The engine's gradients live in its arrays until its next step.
        """
        if X.shape[0] != self._rows:
            self._rows = X.shape[0]
        self._choose_path()
        if self._engine is not None:
            run = self._run(X, Y, s, None, np.array([0, X.shape[0]]))
            return float(run.out[0, 0]), self._engine.gradients()
        net = self.net
        cache = net._forward(X)
        loss = net.cache_loss(cache, Y, self.l2, s)
        if not math.isfinite(loss):
            raise DivergenceError(_divergence_message(self.steps, loss))
        grads = net._backward(cache, Y, self.l2, s)
        params = net.params
        updates, self._state = self.optimizer.update(grads, self._state, params)
        net.params = apply_updates(params, updates)
        self.steps += 1
        return loss, grads

    def _run(
        self,
        X: Array,
        Y: Array,
        s: Array | None,
        order: NDArray[np.intp] | None,
        starts: NDArray[np.int64],
        epochs: int = 1,
        check: bool = True,
    ) -> Run:
        """Steps in the engine on the batches ``starts[i]:starts[i+1]`` (of ``order`` if given).

        ``epochs`` passes (see :meth:`Engine.run`).  A non-finite loss raises
        :class:`DivergenceError`, or with ``check=False`` ends the run early: fewer updates
        than rows of ``run.out`` say so (:meth:`divergence` gives the error to raise).
        """
        assert self._engine is not None
        with HeldInterrupt():  # a Ctrl-C during the call is raised once the network has its weights
            run = self._engine.run(self.net, self.optimizer, X, Y, s, order, starts, self.l2, epochs)
            self.steps += run.updates
        if check and run.updates < run.out.shape[0]:
            raise self.divergence(run)
        return run

    def epoch_means(self, run: Run, steps: int) -> NDArray[np.float64]:
        """Per whole epoch of ``steps`` steps in ``run``: the weighted mean loss, the mean ||dL/dW^(h)||."""
        assert self._engine is not None
        full = run.updates // steps  # the epochs whose every step ran
        return self._engine.epoch_means(run.out[: full * steps], steps)

    def divergence(self, run: Run) -> DivergenceError:
        """The error of a run that stopped on a non-finite loss."""
        return DivergenceError(_divergence_message(self.steps, float(run.out[-1, 0])))

    def _run_epoch(
        self,
        X: Array,
        Y: Array,
        s: Array | None,
        order: NDArray[np.intp] | None,
        starts: NDArray[np.int64],
        epochs: int = 1,
        check: bool = True,
    ) -> Run | None:
        """Whole whole epochs per compiled call where the engine runs these steps, else None."""
        self._choose_path()
        if self._engine is None:
            return None
        return self._run(X, Y, s, order, starts, epochs, check)
