"""Exact Hessian-vector products by Pearlmutter's R-operator.

For a direction V = (V_W^(h), V_b^(h)), shaped like the parameters, the R-operator is
the directional derivative along V at the current parameters theta:

    R{g} = d/dt g(theta + t V) |_{t=0}

so R{W^(h)} = V_W^(h), R{b^(h)} = V_b^(h), R{X} = R{Y} = 0, and R{.} obeys the usual
rules (linear, product rule, chain rule).  Applied to the gradient it gives the
Hessian-vector product, H V = R{grad L}, exactly and at the cost of about two more
gradients: one forward R-sweep beside the forward pass and one backward R-sweep
beside backpropagation.  Applying R{.} to the lecture's equations, line by line
(rows are samples as in :mod:`deltaprop.network`; s_i = 1/n, or s_i / sum_j s_j with
sample weights):

    forward R-sweep, h = 1..D                                       shape
        R{z^(0)} = 0                                                (n, M_0)
        R{a^(h)} = R{z^(h-1)} W^(h)T + z^(h-1) V_W^(h)T + V_b^(h)   (n, M_h)
        R{z^(h)} = sigma'(a^(h)) o R{a^(h)}                         (n, M_h), h < D
        R{f}     = J_out(a^(D)) R{a^(D)}, per sample               (n, K)

    the output unit's Jacobian times R{a^(D)}:
        identity  R{f} = R{a^(D)}
        sigmoid   R{f} = f o (1 - f) o R{a^(D)}
        softmax   R{f}_k = f_k (R{a^(D)}_k - sum_j f_j R{a^(D)}_j)  = (diag f - f f^T) R{a^(D)}

    backward R-sweep, h = D..1
        R{delta^(D)} = s o R{f}                          (delta^(D) = s o (f - Y), Y fixed)
        R{delta^(h)} = sigma''(a^(h)) o R{a^(h)} o (delta^(h+1) W^(h+1))
                     + sigma'(a^(h)) o (R{delta^(h+1)} W^(h+1) + delta^(h+1) V_W^(h+1))
        (H V)_W^(h)  = R{delta^(h)}^T z^(h-1) + delta^(h)T R{z^(h-1)} + lambda V_W^(h)
        (H V)_b^(h)  = sum_i R{delta^(h)}_i

Everything the sweeps need that does not depend on V (a^(h), z^(h), sigma'(a^(h)),
sigma''(a^(h)), delta^(h) and delta^(h+1) W^(h+1)) is computed once by
:func:`linearise`; :func:`r_sweeps` then costs six matrix products per layer for each
direction, which is what makes a Lanczos iteration over many directions cheap.

For softmax the Jacobian is written out because here, unlike in backpropagation, it
is needed: delta^(D) = f - Y holds for the first derivative (the canonical link), and
its derivative along V is the output unit's Jacobian applied to R{a^(D)}.  The loss is
the one :meth:`Network.backward` differentiates; for cross-entropy that assumes each
target row sums to 1 (one-hot or probabilities), as backward's delta^(D) = f - Y does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from deltaprop._checks import check_scalar
from deltaprop._types import Array, Grads, Params
from deltaprop.lab._second_derivatives import second_derivative
from deltaprop.losses import builtin_output_name, output_delta
from deltaprop.network import Network


def _identity_jvp(f: Array, Ra: Array) -> Array:
    return Ra


def _sigmoid_jvp(f: Array, Ra: Array) -> Array:
    return f * (1.0 - f) * Ra


def _softmax_jvp(f: Array, Ra: Array) -> Array:
    # (diag f - f f^T) R{a}, one sample per row
    return f * (Ra - np.sum(f * Ra, axis=1, keepdims=True))


# R{f} = J_out(a^(D)) R{a^(D)} of each built-in output unit, from f = sigma_out(a^(D)).
OUTPUT_JVPS: dict[str, Callable[[Array, Array], Array]] = {
    "identity": _identity_jvp,
    "sigmoid": _sigmoid_jvp,
    "softmax": _softmax_jvp,
}


class Linearisation(NamedTuple):
    """What the R-sweeps need at one point theta, independent of the direction V.

    Lists are indexed like the network's: ``a[h-1]`` = a^(h), ``z[h]`` = z^(h),
    ``dsigma[h-1]`` = sigma'(a^(h)) and ``d2sigma[h-1]`` = sigma''(a^(h)) for hidden h,
    ``delta[h-1]`` = delta^(h) (already weighted by s_i), ``back[h-1]`` =
    delta^(h+1) W^(h+1) for hidden h.
    """

    W: list[Array]
    a: list[Array]
    z: list[Array]
    dsigma: list[Array]
    d2sigma: list[Array]
    delta: list[Array]
    back: list[Array]
    weights: Array  # s_i, shape (n, 1)
    output_jvp: Callable[[Array, Array], Array]
    l2: float


def _output_jvp(net: Network) -> Callable[[Array, Array], Array]:
    name = builtin_output_name(net.output)
    if name is None:
        raise ValueError(
            f"The Hessian needs the Jacobian of the output unit, and {net.output.name!r} is a "
            f"user-defined output unit. Use one of the built-in outputs {sorted(OUTPUT_JVPS)}."
        )
    return OUTPUT_JVPS[name]


def linearise(net: Network, X: Array, Y: Array, l2: float, sample_weight: Array | None) -> Linearisation:
    """The forward pass and backpropagation's delta^(h) at ``net``'s parameters (validated inputs)."""
    D = net.D
    output_jvp = _output_jvp(net)
    d2fs = [second_derivative(act) for act in net.activations]
    a, z = net.forward(X)
    n = X.shape[0]
    if sample_weight is None:
        weights = np.full((n, 1), 1.0 / n, dtype=X.dtype)
    else:
        weights = (sample_weight / sample_weight.sum())[:, None]
    dsigma = [act.df(a[h - 1], z[h]) for h, act in enumerate(net.activations, start=1)]
    d2sigma = [d2f(a[h - 1], z[h]) for h, d2f in enumerate(d2fs, start=1)]
    # Backpropagation as in Network.backward, keeping every delta^(h) and delta^(h+1) W^(h+1).
    delta: list[Array] = [np.empty(0)] * D
    back: list[Array] = [np.empty(0)] * (D - 1)
    delta[D - 1] = weights * output_delta(z[D], Y)  # delta^(D) = s o (f(X) - Y)
    for h in reversed(range(1, D)):
        back[h - 1] = delta[h] @ net.W[h]  # delta^(h+1) W^(h+1)
        delta[h - 1] = dsigma[h - 1] * back[h - 1]  # delta^(h) = sigma'(a^(h)) o ...
    return Linearisation(list(net.W), a, z, dsigma, d2sigma, delta, back, weights, output_jvp, l2)


def r_sweeps(lin: Linearisation, V: Params) -> Grads:
    """H V by one forward and one backward R-sweep at a :class:`Linearisation` (module docstring)."""
    D = len(lin.W)
    z = lin.z
    # forward R-sweep; Rz[h] = R{z^(h)}, with R{z^(0)} = R{X} = 0 left out of the sums
    Ra: list[Array] = [np.empty(0)] * D
    Rz: list[Array | None] = [None] * D
    for h in range(1, D + 1):
        Ra_h = z[h - 1] @ V.W[h - 1].T + V.b[h - 1]  # z^(h-1) V_W^(h)T + V_b^(h)
        Rz_prev = Rz[h - 1]
        if Rz_prev is not None:
            Ra_h += Rz_prev @ lin.W[h - 1].T  # + R{z^(h-1)} W^(h)T
        Ra[h - 1] = Ra_h
        if h < D:
            Rz[h] = lin.dsigma[h - 1] * Ra_h  # R{z^(h)} = sigma'(a^(h)) o R{a^(h)}
    # backward R-sweep
    HW: list[Array] = [np.empty(0)] * D
    Hb: list[Array] = [np.empty(0)] * D
    Rdelta = lin.weights * lin.output_jvp(z[D], Ra[D - 1])  # R{delta^(D)} = s o R{f}
    for h in reversed(range(1, D + 1)):
        HW_h = Rdelta.T @ z[h - 1]  # R{delta^(h)}^T z^(h-1)
        Rz_prev = Rz[h - 1]
        if Rz_prev is not None:
            HW_h += lin.delta[h - 1].T @ Rz_prev  # + delta^(h)T R{z^(h-1)}
        if lin.l2:
            HW_h += lin.l2 * V.W[h - 1]  # + lambda V_W^(h): the penalty, weights only
        HW[h - 1] = HW_h
        Hb[h - 1] = Rdelta.sum(axis=0)
        if h > 1:
            # R{delta^(h-1)} = sigma''(a^(h-1)) o R{a^(h-1)} o (delta^(h) W^(h))
            #                + sigma'(a^(h-1)) o (R{delta^(h)} W^(h) + delta^(h) V_W^(h))
            R_back = Rdelta @ lin.W[h - 1] + lin.delta[h - 1] @ V.W[h - 1]
            Rdelta = lin.d2sigma[h - 2] * Ra[h - 2] * lin.back[h - 2] + lin.dsigma[h - 2] * R_back
    return Grads(HW, Hb)


# ------------------------------------------------------------------ flat vectors
def n_params(net: Network) -> int:
    """P, the number of parameters: sum_h M_h (M_{h-1} + 1)."""
    return sum(W.size + b.size for W, b in zip(net.W, net.b, strict=True))


def flatten(params: Params) -> Array:
    """One vector of shape (P,): W^(1) row by row, b^(1), W^(2), b^(2), ..., W^(D), b^(D)."""
    parts = []
    for W, b in zip(params.W, params.b, strict=True):
        parts += [W.ravel(), b]
    return np.concatenate(parts)


def unflatten(vector: Array, net: Network) -> Params:
    """The inverse of :func:`flatten`, shaped like ``net``'s parameters."""
    W: list[Array] = []
    b: list[Array] = []
    start = 0
    for W_h, b_h in zip(net.W, net.b, strict=True):
        W.append(vector[start : start + W_h.size].reshape(W_h.shape))
        start += W_h.size
        b.append(vector[start : start + b_h.size])
        start += b_h.size
    return Params(W, b)


# ------------------------------------------------------------------ public API
def check_inputs(
    net: Network, X: Any, Y: Any, l2: float, sample_weight: Any
) -> tuple[Array, Array, float, Array | None]:
    """X, Y and sample_weight validated against ``net``, l2 checked."""
    if not isinstance(net, Network):
        raise TypeError(f"The 'net' parameter must be a deltaprop Network. Got {type(net).__name__} instead.")
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[0])
    l2 = float(check_scalar(l2, "l2", low=0.0))
    return X, Y, l2, net.check_sample_weight(sample_weight, X.shape[0])


def _check_direction(net: Network, V: Any) -> Params:
    try:
        VW, Vb = V
        VW, Vb = list(VW), list(Vb)
    except (TypeError, ValueError):
        raise TypeError(
            "The 'V' parameter must be a pair (W, b) of lists of arrays shaped like net.W and net.b, "
            f"such as a Params or Grads. Got {type(V).__name__} instead."
        ) from None
    if len(VW) != net.D or len(Vb) != net.D:
        raise ValueError(
            f"The 'V' parameter has {len(VW)} weight and {len(Vb)} bias arrays; the network has D = {net.D} "
            "layers, one of each per layer."
        )
    W: list[Array] = []
    b: list[Array] = []
    for h in range(1, net.D + 1):
        for name, given, expected, out in (
            ("W", VW[h - 1], net.W[h - 1], W),
            ("b", Vb[h - 1], net.b[h - 1], b),
        ):
            arr = np.asarray(given, dtype=net.dtype)
            if arr.shape != expected.shape:
                raise ValueError(
                    f"V.{name}[{h - 1}] has shape {arr.shape} but {name}^({h}) has shape {expected.shape}."
                )
            if not np.isfinite(arr).all():
                raise ValueError(f"V.{name}[{h - 1}] contains NaN or infinity.")
            out.append(arr)
    return Params(W, b)


def hvp(net: Network, X: Any, Y: Any, V: Any, l2: float = 0.0, sample_weight: Any = None) -> Grads:
    """The exact Hessian-vector product H V of L_S + lambda/2 ||w||^2 by the R-operator.

    H is the Hessian with respect to all parameters (W^(h), b^(h)) of the loss whose
    gradient :meth:`Network.backward` computes; V is a direction shaped like them.
    One forward and one backward R-sweep, no finite differences, no autodiff (see the
    module docstring for the equations).

    Parameters
    ----------
    net : Network
        Any depth, any built-in activation and output unit.
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
        Targets as ``net.output`` expects them.
    V : Params or pair (W, b)
        ``V.W[h-1]`` of shape (M_h, M_{h-1}) and ``V.b[h-1]`` of shape (M_h,).
    l2 : float, default 0
        The lecture's lambda; adds lambda V_W^(h) to the weight blocks.
    sample_weight : array of shape (n,), optional
        Per-sample weights of L_S, as in :meth:`Network.backward`.

    Returns
    -------
    Grads
        ``HV.W[h-1]`` (M_h, M_{h-1}) and ``HV.b[h-1]`` (M_h,): the blocks of H V.

    Raises
    ------
    ValueError
        For a user-defined activation or output unit (sigma'' or the output's Jacobian
        is unknown), or a direction of the wrong shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> net = Network([2, 3, 1], activation="tanh", output="identity", random_state=0)
    >>> X = np.random.default_rng(0).normal(size=(5, 2))
    >>> Y = np.ones((5, 1))
    >>> HV = hvp(net, X, Y, net.params, l2=0.1)
    >>> [block.shape for block in HV.W]
    [(3, 2), (1, 3)]
    """
    X, Y, l2, s = check_inputs(net, X, Y, l2, sample_weight)
    direction = _check_direction(net, V)
    return r_sweeps(linearise(net, X, Y, l2, s), direction)


def hessian(net: Network, X: Any, Y: Any, l2: float = 0.0, sample_weight: Any = None) -> Array:
    """The full Hessian of L_S + lambda/2 ||w||^2, column by column from :func:`hvp`.

    Column j is H e_j, one R-sweep pair per parameter, so this is for small networks
    (P parameters cost P sweeps and P^2 numbers); use :func:`sharpness` for the top
    eigenvalues of a large one.

    Parameters
    ----------
    net : Network
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
    l2 : float, default 0
    sample_weight : array of shape (n,), optional

    Returns
    -------
    ndarray of shape (P, P)
        In the order W^(1) row by row, b^(1), W^(2), b^(2), ..., W^(D), b^(D), with
        P = sum_h M_h (M_{h-1} + 1).

    Raises
    ------
    ValueError
        If P exceeds 5000 (a dense P x P matrix of more than 200 MB).

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> net = Network([2, 3, 2], activation="tanh", random_state=0)
    >>> X = np.random.default_rng(0).normal(size=(4, 2))
    >>> H = hessian(net, X, np.eye(2)[[0, 1, 1, 0]])
    >>> H.shape, bool(np.allclose(H, H.T))
    ((17, 17), True)
    """
    X, Y, l2, s = check_inputs(net, X, Y, l2, sample_weight)
    P = n_params(net)
    if P > 5000:
        raise ValueError(
            f"The network has P = {P} parameters; its dense Hessian would hold P^2 = {P * P:,} numbers. "
            "hessian() is for networks of at most 5000 parameters; use sharpness() for the top "
            "eigenvalues or hvp() for products with a large one."
        )
    lin = linearise(net, X, Y, l2, s)
    H = np.empty((P, P), dtype=net.dtype)
    e = np.zeros(P, dtype=net.dtype)
    for j in range(P):
        e[j] = 1.0
        H[:, j] = flatten(r_sweeps(lin, unflatten(e, net)))
        e[j] = 0.0
    return H
