"""Gradient descent at the edge of stability (Cohen et al., ICLR 2021).

The quadratic fact.  Near a point theta*, L(theta) ~ L* + 1/2 (theta - theta*)^T H (theta - theta*),
and one step of the lecture's gradient descent theta <- theta - eta grad L gives

    theta(t+1) - theta* = (I - eta H) (theta(t) - theta*)

so along each eigenvector of H (eigenvalue lambda_i) the error is multiplied by
1 - eta lambda_i at every step.  It shrinks for all i exactly when |1 - eta lambda_i| < 1,
that is when

    eta < 2 / lambda_max,        lambda_max = the sharpness,

and it grows geometrically along the top eigenvector when eta > 2 / lambda_max.  For a
network of depth D = 1 with the identity output (linear regression with squared
error) the loss *is* this quadratic, with H = (1/n) [X 1]^T [X 1] per output (plus
lambda on the weights), so gradient descent converges for every eta below 2/lambda_max
and diverges for every eta above it.

The edge of stability.  A network's loss is not quadratic and its Hessian moves with
the parameters.  Cohen et al. observed on full-batch gradient descent that the
sharpness first rises (progressive sharpening) until it reaches 2/eta, and then,
instead of the run diverging as the quadratic model predicts, hovers just above 2/eta
while the loss keeps falling over the long run, non-monotonically.
:func:`edge_of_stability` runs :func:`deltaprop.train.gradient_descent` for several
eta from the same starting network and records the loss at every step and the
sharpness (Lanczos, :func:`deltaprop.lab.sharpness`) every ``every`` steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from deltaprop._checks import as_generator, check_positive, check_scalar
from deltaprop._types import Array, RandomState
from deltaprop.lab._hvp import check_inputs, linearise, n_params
from deltaprop.lab._sharpness import check_method, subsample_rows, top_eigenpairs
from deltaprop.network import Network
from deltaprop.train import DivergenceError, gradient_descent


class StabilityRun(NamedTuple):
    """One learning rate's run of :func:`edge_of_stability`.

    Attributes
    ----------
    lr : float
        The learning rate eta.
    threshold : float
        2 / eta, the largest sharpness at which a quadratic is stable under this eta.
    losses : ndarray of shape (T + 1,)
        ``losses[t]`` = L(w(t)), the loss after t steps, t = 0..T; NaN after a divergence.
    steps : ndarray of int, shape (m,)
        The steps at which the sharpness was measured: 0, every, 2 every, ..., up to T.
    sharpness : ndarray of shape (m,)
        lambda_max of the Hessian at those steps; NaN after a divergence.
    diverged_at : int or None
        The first step whose loss was not finite, or None.
    """

    lr: float
    threshold: float
    losses: Array
    steps: Array
    sharpness: Array
    diverged_at: int | None

    @property
    def reached_step(self) -> int | None:
        """The first measured step with sharpness >= 2/eta, or None if it never got there."""
        hits = np.flatnonzero(self.sharpness >= self.threshold)
        return int(self.steps[hits[0]]) if hits.size else None

    @property
    def ratios(self) -> Array:
        """sharpness / (2/eta) at every measured step, shape (m,)."""
        return self.sharpness / self.threshold

    @property
    def median_ratio(self) -> float:
        """The median of sharpness / (2/eta) over the measurements after it first reached 2/eta.

        NaN if it never reached 2/eta or was not measured again after that.
        """
        reached = self.reached_step
        if reached is None:
            return float("nan")
        after = self.ratios[self.steps > reached]
        after = after[np.isfinite(after)]
        return float(np.median(after)) if after.size else float("nan")

    @property
    def loss_rises(self) -> int:
        """How many steps t increased the loss, L(w(t+1)) > L(w(t)) (short-term rises)."""
        finite = self.losses[np.isfinite(self.losses)]
        return int(np.count_nonzero(np.diff(finite) > 0))


class EdgeOfStability(NamedTuple):
    """The result of :func:`edge_of_stability`: one :class:`StabilityRun` per learning rate."""

    runs: list[StabilityRun]

    def run(self, lr: float) -> StabilityRun:
        """The run of learning rate ``lr``."""
        for r in self.runs:
            if np.isclose(r.lr, lr, rtol=1e-12, atol=0.0):
                return r
        raise KeyError(f"No run with lr = {lr!r}; the runs have lr = {[r.lr for r in self.runs]}.")

    def __str__(self) -> str:
        lines = [
            "     eta      2/eta   sharpness(0)  sharpness(T)  reached 2/eta at  median ratio after  "
            "loss(0)     loss(T)  loss rises"
        ]
        for r in self.runs:
            reached = "never" if r.reached_step is None else f"step {r.reached_step}"
            if r.diverged_at is not None:
                reached += f" (diverged at {r.diverged_at})"
            last = r.losses[np.isfinite(r.losses)][-1]
            lines.append(
                f"{r.lr:>8.4g}  {r.threshold:>9.4g}  {r.sharpness[0]:>12.4g}  {r.sharpness[-1]:>12.4g}  "
                f"{reached:>16}  {r.median_ratio:>18.3f}  {r.losses[0]:>7.4g}  {last:>10.4g}  "
                f"{r.loss_rises:>10}"
            )
        return "\n".join(lines)


def _gd_chunk(net: Network, X: Array, Y: Array, lr: float, l2: float, steps: int) -> tuple[Array, bool]:
    """``steps`` steps of batch GD on ``net`` in place: (the losses before each step, diverged?).

    On a divergence the chunk is replayed one step at a time from its start, so that
    the losses up to the first non-finite one are kept.
    """
    start = net.copy()
    try:
        return gradient_descent(net, X, Y, lr=lr, l2=l2, steps=steps), False
    except DivergenceError:
        losses: list[float] = []
        for _ in range(steps):
            try:
                losses.extend(gradient_descent(start, X, Y, lr=lr, l2=l2, steps=1))
            except DivergenceError:
                break
        return np.array(losses), True


def edge_of_stability(
    net: Network,
    X: Any,
    Y: Any,
    lrs: Sequence[float],
    steps: int = 1000,
    every: int = 10,
    l2: float = 0.0,
    subsample: int | None = None,
    random_state: RandomState = None,
    method: str = "lanczos",
    tol: float = 1e-6,
) -> EdgeOfStability:
    """Run the lecture's batch gradient descent for each eta; record loss and sharpness.

    Each learning rate starts from a copy of ``net`` (which is not changed), runs
    :func:`deltaprop.train.gradient_descent` for ``steps`` steps, and measures the
    sharpness lambda_max of the full-batch loss every ``every`` steps, the Lanczos
    iteration warm-started from the previous top eigenvector.

    Parameters
    ----------
    net : Network
        The starting point, with built-in activations and output unit.
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
    lrs : sequence of float
        The learning rates eta > 0.
    steps : int, default 1000
        The number T of gradient-descent steps per learning rate.
    every : int, default 10
        Measure the sharpness at steps 0, every, 2 every, ... (and at T).
    l2 : float, default 0
        The lecture's lambda, in the loss that is descended and whose Hessian is measured.
    subsample : int, optional
        Measure the sharpness on this many rows, drawn once (the same rows throughout).
    random_state : None, int or Generator
        Seeds the subsample and the first start vector.
    method : {"lanczos", "power"}, default "lanczos"
        As in :func:`sharpness`.
    tol : float, default 1e-6
        Relative accuracy of each sharpness.

    Returns
    -------
    EdgeOfStability
        ``result.runs[i]`` is a :class:`StabilityRun` for ``lrs[i]``: losses at every
        step, sharpness at the measured steps, 2/eta, the first step the sharpness
        reached 2/eta and the median of sharpness/(2/eta) after it; ``print(result)``
        shows a table.

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> Y = np.sin(X[:, :1])
    >>> net = Network([3, 8, 1], activation="tanh", output="identity", random_state=0)
    >>> result = edge_of_stability(net, X, Y, lrs=[0.1, 0.2], steps=20, every=10)
    >>> [run.steps.tolist() for run in result.runs]
    [[0, 10, 20], [0, 10, 20]]
    >>> result.runs[0].threshold
    20.0
    """
    X, Y, l2, _ = check_inputs(net, X, Y, l2, None)
    if isinstance(lrs, (int, float)) or len(lrs) == 0:
        raise ValueError(f"The 'lrs' parameter must be a non-empty list of learning rates. Got {lrs!r}.")
    lrs = [check_positive(lr, "lrs") for lr in lrs]
    check_scalar(steps, "steps", low=1, integer=True)
    check_scalar(every, "every", low=1, integer=True)
    check_method(method)
    tol = check_positive(tol, "tol")
    rng = as_generator(random_state)
    rows = subsample_rows(X.shape[0], subsample, rng)
    X_h, Y_h = (X, Y) if rows is None else (X[rows], Y[rows])
    v_start = rng.normal(size=n_params(net))
    marks = [*range(0, steps, every), steps]

    runs = []
    for lr in lrs:
        current = net.copy()
        losses = np.full(steps + 1, np.nan)
        sharp = np.full(len(marks), np.nan)
        v0: Array = v_start
        diverged_at: int | None = None
        for j, t in enumerate(marks):
            # Past 2/eta the iterates oscillate and may overflow; that shows as a NaN, not an error.
            with np.errstate(over="ignore", invalid="ignore"):
                lin = linearise(current, X_h, Y_h, l2, None)
                if all(np.isfinite(z).all() for z in lin.z) and all(np.isfinite(d).all() for d in lin.delta):
                    values, vectors, _ = top_eigenpairs(lin, current, 1, method, v0, tol, None)
                    sharp[j], v0 = values[0], vectors[:, 0]
            if t == steps:
                break
            chunk, diverged = _gd_chunk(current, X, Y, lr, l2, marks[j + 1] - t)
            losses[t : t + chunk.size] = chunk
            if diverged:
                diverged_at = t + chunk.size
                break
        if diverged_at is None:
            with np.errstate(over="ignore", invalid="ignore"):
                losses[steps] = current.loss(X, Y, l2)
            if not np.isfinite(losses[steps]):
                diverged_at = steps
        runs.append(StabilityRun(lr, 2.0 / lr, losses, np.array(marks), sharp, diverged_at))
    return EdgeOfStability(runs)
