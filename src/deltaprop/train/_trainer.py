"""The Trainer: one network, one optimiser and its state, one step at a time.

Public as :class:`deltaprop.train.Trainer`; :func:`deltaprop.train.fit` drives it over
epochs.  A step is the lecture's forward pass, loss, backpropagation and update,
computed by the compiled engine (:mod:`deltaprop.engine`) where it knows every piece
(built-in activations and output units, a named optimiser, float32 or float64), else by
the NumPy fast path (:mod:`deltaprop.train._fastpath`); both are tested against the
pure functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop._checks import check_scalar
from deltaprop._types import Array, Grads, State
from deltaprop.engine import Engine, EngineWorkspace
from deltaprop.engine import supports as engine_supports
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation, by_name
from deltaprop.schedules import LearningRate, get_lr
from deltaprop.train._fastpath import FastPath, Workspace

PATHS = ("auto", "engine", "numpy")
# Multiply-adds of one forward pass (batch rows x weights) from which "auto" compiles:
# W1 (784-256-128-10, batch 128: 3e7) runs on the engine, the lecture's toy fits (1e4)
# and W2 (64-64-10, batch 32: 1.5e5) on NumPy, where start-up would cost more than it saves.
ENGINE_MIN_WORK = 1_000_000


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

    A Trainer computes its steps in arrays allocated once (``trainer.workspace``): with
    the compiled engine where it covers the network and optimiser (``trainer.path`` is
    "engine"), else on the NumPy fast path ("numpy").  With a built-in optimiser (one
    with a ``spec``: all the named ones) it keeps the network's W and b and the
    optimiser state as views of flat vectors that each step updates in place.  The
    numbers are those of the pure forward, backward, ``update`` and ``apply_updates``
    (the engine's within rounding, tested after 50 steps); what changes is that
    the arrays of ``net.W``, ``net.b`` and ``state`` change under a reference kept across
    steps (copy them to keep a snapshot).

    Parameters
    ----------
    net : Network
        Trained in place.
    optimizer : str or GradientTransformation, default "gd"
        A name of :func:`deltaprop.optim.by_name` ("gd", "sgd", "momentum", "nesterov",
        "adam", "adamw") or a gradient transformation of your own.
    learning_rate : float or schedule, default 0.1
        Used when ``optimizer`` is a name.
    l2 : float, default 0
        The lecture's lambda: every step's gradient is that of L_batch + lambda/2 ||w||^2.
    path : {"auto", "engine", "numpy"}, default "auto"
        Which code computes the steps: the compiled engine (where it covers the network
        and optimiser), the NumPy fast path, or (``"auto"``) the engine only for steps
        of at least ``ENGINE_MIN_WORK`` multiply-adds, where it pays for loading its
        compiled code.  ``trainer.path`` says which one runs.
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
        learning_rate: LearningRate = 0.1,
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
            self.optimizer = by_name(optimizer, learning_rate, **options)
            self.learning_rate = learning_rate
        elif isinstance(optimizer, GradientTransformation):
            if options:
                raise TypeError(f"Options {sorted(options)} apply only to an optimizer given by name.")
            self.optimizer = optimizer
            self.learning_rate = None
        else:
            raise TypeError(
                "The 'optimizer' parameter must be a name or a GradientTransformation. "
                f"Got {type(optimizer).__name__} instead."
            )
        self._fast: FastPath | Engine = FastPath(self.optimizer.init(net.params))
        self._chosen_for: tuple[GradientTransformation, bool] | None = None
        self._rows = 0  # the rows of the last batch: the size of a step's work
        self.steps = 0

    @property
    def state(self) -> State:
        """The optimiser state, one array per W^(h) and b^(h), as ``optimizer.init`` makes it."""
        return self._fast.state

    @state.setter
    def state(self, state: State) -> None:
        self._fast.state = state

    @property
    def workspace(self) -> Workspace | EngineWorkspace | None:
        """The arrays the steps compute in (None before the first step)."""
        return self._fast.workspace

    @property
    def path(self) -> str:
        """Which code computes the steps: "engine" (compiled) or "numpy" (the NumPy fast path)."""
        self._choose_path()
        return "engine" if isinstance(self._fast, Engine) else "numpy"

    def _choose_path(self) -> None:
        """The engine where it computes this network and optimiser and pays, else the NumPy fast path.

        With ``path="auto"`` the engine runs a step only when its work (the batch's rows
        times the network's weights: the multiply-adds of one forward pass) is at least
        ``ENGINE_MIN_WORK``; below that, loading the compiled code (0.4-0.7 s once per
        process, 1.5-2 s uncached) costs more than the steps of a small fit save.
        Decided again when ``optimizer`` is replaced or the work crosses the bound; the
        optimiser state moves along.
        """
        work = self._rows * sum(w.size for w in self.net.W)
        wanted = self.path_setting == "engine" or (self.path_setting == "auto" and work >= ENGINE_MIN_WORK)
        if self._chosen_for == (self.optimizer, wanted):
            return
        self._chosen_for = (self.optimizer, wanted)
        use_engine = wanted and engine_supports(self.net, self.optimizer)
        if use_engine != isinstance(self._fast, Engine):
            state = self._fast.state
            self._fast = Engine(state) if use_engine else FastPath(state)

    @property
    def current_lr(self) -> float:
        """The learning rate of the next step (NaN for a custom optimiser)."""
        return float("nan") if self.learning_rate is None else get_lr(self.learning_rate, self.steps)

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

        The returned gradients live in the workspace until the next step.
        """
        self._rows = X.shape[0]
        self._choose_path()
        loss, grads = self._fast.step(self.net, self.optimizer, X, Y, self.l2, s)
        if grads is None:
            raise DivergenceError(_divergence_message(self.steps, loss))
        self.steps += 1
        return loss, grads
