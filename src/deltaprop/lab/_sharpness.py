"""Sharpness: the top eigenvalues of the Hessian of the full-batch loss.

The Hessian H of L_S + lambda/2 ||w||^2 is never formed.  It is a linear operator
v -> H v, each product two R-sweeps (:mod:`deltaprop.lab._hvp`), and its top
eigenvalues lambda_1 >= lambda_2 >= ... come from an iterative method that needs
only products:

    Lanczos    scipy.sparse.linalg.eigsh on a LinearOperator, which="LA" (largest
               algebraic): ARPACK's implicitly restarted Lanczos, typically a few
               dozen products for the top eigenvalue.
    power      v <- H v / ||H v||, lambda = v^T H v, until ||H v - lambda v|| <= tol |lambda|;
               further eigenvalues by deflation (v kept orthogonal to those found).
               Power iteration finds the eigenvalues of largest *magnitude*; when the
               dominant one is negative, or more than one is asked for, it is rerun
               on H + c I with c = |lambda_dominant|, whose spectrum lies in
               [0, 2 c]: there largest magnitude is largest algebraic.

On a quadratic loss, gradient descent with step eta is stable exactly when
eta < 2 / lambda_1 (see :mod:`deltaprop.lab._stability`), which is why lambda_1 is
called the sharpness.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop._checks import as_generator, check_positive, check_scalar
from deltaprop._types import Array, RandomState
from deltaprop.lab._hvp import Linearisation, check_inputs, flatten, linearise, n_params, r_sweeps, unflatten
from deltaprop.network import Network

METHODS = ("lanczos", "power")


def subsample_rows(n: int, subsample: int | None, rng: np.random.Generator) -> Array | None:
    """Sorted indices of ``subsample`` of n rows drawn without replacement, or None for all."""
    if subsample is None:
        return None
    check_scalar(subsample, "subsample", low=1, integer=True)
    if subsample >= n:
        return None
    return np.sort(rng.choice(n, size=int(subsample), replace=False))


class _HessianOperator:
    """v (P,) -> H v (P,) at one linearisation, in float64."""

    def __init__(self, lin: Linearisation, net: Network) -> None:
        self.lin, self.net = lin, net
        self.P = n_params(net)
        self.n_products = 0

    def __call__(self, v: Array) -> Array:
        self.n_products += 1
        V = unflatten(np.asarray(v, dtype=self.net.dtype).ravel(), self.net)
        return flatten(r_sweeps(self.lin, V)).astype(np.float64)


def _lanczos(op: _HessianOperator, k: int, v0: Array, tol: float, maxiter: int | None) -> tuple[Array, Array]:
    from scipy.sparse.linalg import LinearOperator, eigsh

    if k >= op.P:
        raise ValueError(
            f"Lanczos finds at most P - 1 = {op.P - 1} eigenvalues of this network's Hessian; got k = {k}. "
            "Use method='power', or hessian() and numpy.linalg.eigvalsh for all of them."
        )
    linear = LinearOperator((op.P, op.P), matvec=op, dtype=np.float64)
    values, vectors = eigsh(linear, k=k, which="LA", v0=v0, tol=tol, maxiter=maxiter)
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


def _power_pass(
    op: _HessianOperator, k: int, v0: Array, shift: float, tol: float, maxiter: int
) -> tuple[Array, Array]:
    """The k eigenpairs of H + shift I of largest magnitude, by power iteration with deflation."""
    found: list[Array] = []
    values: list[float] = []
    rng = np.random.default_rng(0)  # only to restart a start vector lying in the span found
    for j in range(k):
        v = v0 if j == 0 else rng.normal(size=op.P)
        for u in found:
            v = v - (u @ v) * u
        v = v / np.linalg.norm(v)
        for _ in range(maxiter):
            w = op(v) + shift * v
            for u in found:
                w = w - (u @ w) * u  # deflation: stay orthogonal to the eigenvectors found
            lam = float(v @ w)
            residual = float(np.linalg.norm(w - lam * v))
            norm = float(np.linalg.norm(w))
            if residual <= tol * abs(lam) or norm == 0.0:
                break
            v = w / norm
        else:
            raise RuntimeError(
                f"Power iteration did not converge to eigenvalue {j + 1} in {maxiter} products "
                f"(relative residual {residual / max(abs(lam), 1e-300):.1e} > tol = {tol}). "
                "Raise 'maxiter' or 'tol', or use method='lanczos'."
            )
        found.append(v)
        values.append(lam)
    return np.array(values), np.column_stack(found)


def _power(op: _HessianOperator, k: int, v0: Array, tol: float, maxiter: int) -> tuple[Array, Array]:
    values, vectors = _power_pass(op, 1, v0, 0.0, tol, maxiter)
    if k == 1 and values[0] >= 0:
        return values, vectors
    shift = abs(float(values[0]))  # H + shift I is positive semi-definite
    start = vectors[:, 0] if values[0] >= 0 else v0
    values, vectors = _power_pass(op, k, start, shift, tol, maxiter)
    values = values - shift
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


def top_eigenpairs(
    lin: Linearisation,
    net: Network,
    k: int,
    method: str,
    v0: Array,
    tol: float,
    maxiter: int | None,
) -> tuple[Array, Array, int]:
    """The top-k eigenvalues (descending), their eigenvectors (P, k) and the number of H v products."""
    op = _HessianOperator(lin, net)
    if method == "lanczos":
        values, vectors = _lanczos(op, k, v0, tol, maxiter)
    else:
        values, vectors = _power(op, k, v0, tol, 1000 if maxiter is None else maxiter)
    return values, vectors, op.n_products


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"The 'method' parameter must be one of {list(METHODS)}. Got {method!r} instead.")
    return method


def sharpness(
    net: Network,
    X: Any,
    Y: Any,
    l2: float = 0.0,
    k: int = 1,
    subsample: int | None = None,
    random_state: RandomState = None,
    method: str = "lanczos",
    tol: float = 1e-6,
    maxiter: int | None = None,
    sample_weight: Any = None,
) -> Array:
    """The top-k eigenvalues of the Hessian of L_S + lambda/2 ||w||^2, largest first.

    Only Hessian-vector products are used (:func:`hvp`, two R-sweeps each); the
    Hessian is never formed, so this works for networks of any size.

    Parameters
    ----------
    net : Network
        Any built-in activations and output unit.
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
    l2 : float, default 0
        The lecture's lambda (adds lambda to the weights' curvature).
    k : int, default 1
        How many of the largest eigenvalues; k = 1 is the sharpness lambda_max.
    subsample : int, optional
        Evaluate the Hessian of the loss on this many rows, drawn once without
        replacement from ``random_state`` (the same rows for the same seed); all rows
        by default.
    random_state : None, int or Generator
        Seeds the subsample and the start vector of the iteration.
    method : {"lanczos", "power"}, default "lanczos"
        ``scipy.sparse.linalg.eigsh(which="LA")`` on a LinearOperator, or power
        iteration with deflation (see the module docstring).
    tol : float, default 1e-6
        Relative accuracy: the iteration stops at ||H v - lambda v|| <= tol |lambda|.
    maxiter : int, optional
        Most Lanczos restarts (ARPACK's default) or power-iteration products per
        eigenvalue (default 1000).
    sample_weight : array of shape (n,), optional
        Per-sample weights of L_S (ignored rows when subsampling are dropped with theirs).

    Returns
    -------
    ndarray of shape (k,)
        lambda_1 >= ... >= lambda_k.

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> net = Network([3, 1], output="identity", random_state=0)  # linear regression
    >>> lam = sharpness(net, X, X[:, :1], random_state=0)
    >>> Xb = np.column_stack([X, np.ones(50)])  # the Hessian is (1/n) [X 1]^T [X 1]
    >>> bool(np.isclose(lam[0], np.linalg.eigvalsh(Xb.T @ Xb / 50)[-1]))
    True
    """
    X, Y, l2, s = check_inputs(net, X, Y, l2, sample_weight)
    check_scalar(k, "k", low=1, integer=True)
    check_method(method)
    tol = check_positive(tol, "tol")
    if maxiter is not None:
        check_scalar(maxiter, "maxiter", low=1, integer=True)
    rng = as_generator(random_state)
    rows = subsample_rows(X.shape[0], subsample, rng)
    if rows is not None:
        X, Y = X[rows], Y[rows]
        s = None if s is None else s[rows]
        if s is not None and s.sum() <= 0:
            raise ValueError(
                "The subsample holds only rows of sample weight 0; draw another or use all rows."
            )
    lin = linearise(net, X, Y, l2, s)
    values, _, _ = top_eigenpairs(lin, net, int(k), method, rng.normal(size=n_params(net)), tol, maxiter)
    return values
