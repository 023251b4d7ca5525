"""The full-batch loss and gradient at a network's parameters: what L-BFGS minimises, on either path."""

from __future__ import annotations

import numpy as np

from deltaprop._types import Array, Grads
from deltaprop.network import Network
from deltaprop.train._trainer import PATHS, engine, engine_pays


class FullBatchObjective:
    """L_S + l2/2 ||w||^2 and its gradient on all of (X, Y), at the network's current parameters.

    Calling it runs the forward pass and backpropagation once, on the reference path
    (``Network._forward``, ``cache_loss``, ``_backward``) or in the compiled engine
    (the fused forward-backward of a training step, without the update), chosen as the
    Trainer chooses: ``path="auto"`` takes the engine where ``evaluations`` calls pay
    for its start-up.  The engine's gradients are views of its arrays, valid until the
    next call.

    Parameters
    ----------
    net : Network
        Read at every call (set ``net.params`` between calls).
    X, Y : arrays of shape (n, M_0), (n, K)
        Validated (``net.check_X``, ``net.check_Y``).
    l2 : float
    sample_weight : array of shape (n,) or None
    evaluations : int, default 1
        How many calls are expected (L-BFGS's ``max_fun``).
    path : {"auto", "engine", "numpy"}, default "auto"

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> net = Network([2, 3, 2], random_state=0)
    >>> X, Y = np.ones((4, 2)), np.eye(2)[[0, 1, 0, 1]]
    >>> loss, grads = FullBatchObjective(net, X, Y, 0.0, None, path="numpy")()
    >>> bool(np.isclose(loss, net.loss(X, Y))), grads.W[0].shape
    (True, (3, 2))
    """

    def __init__(
        self,
        net: Network,
        X: Array,
        Y: Array,
        l2: float,
        sample_weight: Array | None,
        *,
        evaluations: int = 1,
        path: str = "auto",
    ) -> None:
        if path not in PATHS:
            raise ValueError(f"The 'path' parameter must be one of {list(PATHS)}. Got {path!r} instead.")
        self.net, self.X, self.Y, self.l2, self.sample_weight = net, X, Y, l2, sample_weight
        work = float(evaluations) * X.shape[0] * sum(w.size for w in net.W)
        wanted = path == "engine" or (path == "auto" and engine_pays(evaluations, work))
        self._engine = engine().Engine(None) if wanted and engine().supports(net) else None
        self._starts = np.array([0, X.shape[0]])

    @property
    def path(self) -> str:
        """Which code computes the loss and gradient: "engine" or "numpy" (the reference)."""
        return "numpy" if self._engine is None else "engine"

    def __call__(self) -> tuple[float, Grads]:
        """(loss, gradients) at ``net``'s current parameters; the loss may be infinite or NaN."""
        net = self.net
        if self._engine is not None:
            run = self._engine.run(net, None, self.X, self.Y, self.sample_weight, None, self._starts, self.l2)
            return float(run.out[0, 0]), self._engine.gradients()
        cache = net._forward(self.X)
        loss = net.cache_loss(cache, self.Y, self.l2, self.sample_weight)
        if not np.isfinite(loss):
            return loss, Grads([], [])
        return loss, net._backward(cache, self.Y, self.l2, self.sample_weight)
