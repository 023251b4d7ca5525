"""The Trainer: one network, one optimiser and its state, one step at a time.

Public as :class:`deltaprop.train.Trainer`; :func:`deltaprop.train.fit` drives it over
epochs.  A step is the lecture's forward pass, loss, backpropagation and update,
computed by the training loop's fast path (:mod:`deltaprop.train._fastpath`: the
arrays of a step allocated once) and, with an optimiser that has ``apply_in_place``,
updating the parameters and the optimiser state in place -- bit for bit the numbers
of the pure functions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deltaprop._checks import check_scalar
from deltaprop._types import Array, Grads, State
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation, apply_updates, by_name
from deltaprop.optim._state import map_params
from deltaprop.schedules import LearningRate, get_lr
from deltaprop.train._fastpath import Workspace, backward, forward_loss


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

    A Trainer computes in a :class:`~deltaprop.train._fastpath.Workspace` (arrays allocated
    once), and with an optimiser that has ``apply_in_place`` (all the named ones) it
    keeps the network's W and b and the optimiser state as views of flat vectors that
    each step updates in place.  The numbers are bit for bit those of the pure
    ``update`` + ``apply_updates``; what changes is that the arrays of ``net.W``,
    ``net.b`` and ``state`` change under a reference kept across steps (copy them to
    keep a snapshot).

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
        **options: Any,
    ) -> None:
        check_scalar(l2, "l2", low=0.0)
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
        self._state: State = self.optimizer.init(net.params)
        self._flat_state: State | None = None  # the state in the workspace's flat layout
        self.workspace: Workspace | None = None
        self.steps = 0

    @property
    def state(self) -> State:
        """The optimiser state, one array per W^(h) and b^(h), as ``optimizer.init`` makes it."""
        if self._flat_state is not None and self.workspace is not None:
            return map_params(self._flat_state, self.workspace.unflatten)
        return self._state

    @state.setter
    def state(self, state: State) -> None:
        self._state = state
        self._flat_state = None  # moved into flat vectors again at the next step

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
        net = self.net
        workspace = self._workspace(X.shape[0])
        cache, loss = forward_loss(net, X, Y, self.l2, s, workspace)
        if not math.isfinite(loss):
            raise DivergenceError(_divergence_message(self.steps, loss))
        grads = backward(net, cache, Y, self.l2, s, workspace)
        apply_in_place = self.optimizer.apply_in_place
        if apply_in_place is None:
            updates, self._state = self.optimizer.update(grads, self._state, net.params)
            net.params = apply_updates(net.params, updates)
        else:
            assert workspace.flat_params is not None
            self._flat_state = apply_in_place(workspace.flat_grads, self._flat_state, workspace.flat_params)
        self.steps += 1
        return loss, grads

    def _workspace(self, rows: int) -> Workspace:
        """The workspace for a batch of ``rows`` samples, with the network and state moved in if needed."""
        workspace = self.workspace
        if workspace is None:
            workspace = self.workspace = Workspace(self.net, rows)
        workspace.reserve(rows)
        if self.optimizer.apply_in_place is not None:
            if not workspace.is_bound(self.net):  # first step, or net.params was replaced
                workspace.bind(self.net)
            if self._flat_state is None:  # first step, or state was replaced
                self._flat_state = map_params(self._state, workspace.flatten)
        return workspace
