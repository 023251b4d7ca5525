"""Loss landscapes (Li et al., "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018).

The loss L(theta) = L_S + lambda/2 ||w||^2 lives in P dimensions; a figure shows it on
a line or a plane through the trained parameters theta*:

    1-D slice     L(theta* + alpha d)                    alpha in [-1, 1]
    2-D slice     L(theta* + alpha d1 + beta d2)         (alpha, beta) on a grid
    interpolation L((1 - alpha) theta_A + alpha theta_B) alpha in [-0.5, 1.5]

A random direction d is drawn with the parameters' shapes, d ~ N(0, I), and then
*filter-normalised*: the incoming weights of each unit i of layer h (row i of W^(h))
are rescaled to the norm of that unit's weights at theta*,

    d_W^(h)[i, :]  <-  d_W^(h)[i, :] / ||d_W^(h)[i, :]|| * ||W^(h)[i, :]||

so that a step alpha = 1 moves every unit by as much as its own size: the slices of
two networks are comparable whatever the scale of their weights (a ReLU network is
invariant to rescaling a unit's incoming weights by c > 0 and its outgoing by 1/c, and
an unnormalised direction would make the flatter-looking of two equal minima the one
with larger weights).  The biases are left out of d (d_b = 0) by default, as Li et al.
do for biases; with ``biases=True`` the row i of [W^(h) | b^(h)] is normalised as one
unit's incoming parameters.

The trajectory of gradient descent theta_0, ..., theta_T is shown on the plane through
theta_T spanned by its first two principal directions: the rows theta_t - theta_T form a
matrix M (T+1, P), M = U S V^T, the directions are the first two rows of V^T (unit
vectors), and step t sits at the coordinates (theta_t - theta_T) . v_1 and . v_2; the
share of ||M||^2 they explain, s_k^2 / sum s^2, says how flat the path is (it is 1 when
the path lies in a plane).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from deltaprop._checks import as_generator, check_positive, check_scalar
from deltaprop._types import Array, Params, RandomState
from deltaprop.lab._hvp import check_inputs, flatten, n_params, unflatten
from deltaprop.network import Network
from deltaprop.train import gradient_descent


class LossSlice(NamedTuple):
    """The loss along a line: ``losses[j]`` = L(origin + alphas[j] direction).

    Attributes
    ----------
    alphas : ndarray of shape (m,)
    losses : ndarray of shape (m,)
    direction : Params
        d, shaped like the parameters (for an interpolation, theta_B - theta_A).
    kind : str
        "random direction" or "interpolation".
    """

    alphas: Array
    losses: Array
    direction: Params
    kind: str


class LossSurface(NamedTuple):
    """The loss on a plane: ``losses[i, j]`` = L(theta* + alphas[j] d1 + betas[i] d2).

    Attributes
    ----------
    alphas : ndarray of shape (m,)
    betas : ndarray of shape (k,)
    losses : ndarray of shape (k, m)
        One row per beta, as :func:`matplotlib.axes.Axes.contour` expects.
    directions : tuple of two Params
    """

    alphas: Array
    betas: Array
    losses: Array
    directions: tuple[Params, Params]


class Trajectory(NamedTuple):
    """A gradient-descent path on the plane of its two principal directions.

    Attributes
    ----------
    coords : ndarray of shape (T + 1, 2)
        Step t at ((theta_t - theta_T) . v_1, (theta_t - theta_T) . v_2).
    explained : ndarray of shape (2,)
        The share of the path's squared length along v_1 and v_2.
    directions : tuple of two Params
        v_1 and v_2 (unit vectors), shaped like the parameters.
    losses : ndarray of shape (T + 1,)
        L(theta_t) along the path.
    surface : LossSurface or None
        The loss on the plane through theta_T (alphas along v_1, betas along v_2).
    """

    coords: Array
    explained: Array
    directions: tuple[Params, Params]
    losses: Array
    surface: LossSurface | None


# ------------------------------------------------------------------ directions
def filter_normalise(direction: Params, net: Network, biases: bool = False) -> Params:
    """``direction`` with each unit's incoming weights scaled to the norm of the unit's weights in ``net``.

    Row i of d_W^(h) gets the norm of row i of W^(h) (a zero row stays zero); with
    ``biases=True`` row i of [d_W^(h) | d_b^(h)] gets the norm of row i of
    [W^(h) | b^(h)], else d_b^(h) = 0 (module docstring).
    """
    W: list[Array] = []
    b: list[Array] = []
    for W_h, b_h, dW, db in zip(net.W, net.b, direction.W, direction.b, strict=True):
        if biases:
            rows = np.column_stack([dW, db])
            target = np.linalg.norm(np.column_stack([W_h, b_h]), axis=1)
        else:
            rows = np.asarray(dW)
            target = np.linalg.norm(W_h, axis=1)
        norm = np.linalg.norm(rows, axis=1)
        scale = np.divide(target, norm, out=np.zeros_like(target), where=norm > 0)
        scaled = rows * scale[:, None]
        W.append(scaled[:, : W_h.shape[1]])
        b.append(scaled[:, -1] if biases else np.zeros_like(b_h))
    return Params(W, b)


def random_direction(net: Network, random_state: RandomState = None, biases: bool = False) -> Params:
    """A Gaussian direction in parameter space, filter-normalised to ``net`` (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> net = Network([3, 4, 2], random_state=0)
    >>> d = random_direction(net, random_state=1)
    >>> bool(np.allclose(np.linalg.norm(d.W[0], axis=1), np.linalg.norm(net.W[0], axis=1)))
    True
    >>> float(np.abs(d.b[0]).max())
    0.0
    """
    if not isinstance(net, Network):
        raise TypeError(f"The 'net' parameter must be a deltaprop Network. Got {type(net).__name__} instead.")
    rng = as_generator(random_state)
    draw = Params(
        [rng.normal(size=W.shape).astype(net.dtype) for W in net.W],
        [rng.normal(size=b.shape).astype(net.dtype) for b in net.b],
    )
    return filter_normalise(draw, net, biases)


def _moved(net: Network, theta: Array) -> Network:
    moved = net.copy()
    moved.params = unflatten(theta.astype(net.dtype, copy=False), net)
    return moved


def _loss_at(net: Network, theta: Array, X: Array, Y: Array, l2: float) -> float:
    """L(theta); inf where the forward pass overflows (far from theta*)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = _moved(net, theta).loss(X, Y, l2)
    return value if np.isfinite(value) else float("inf")


def _check_grid(values: Any, name: str, default: Array) -> Array:
    if values is None:
        return default
    grid = np.asarray(values, dtype=np.float64).ravel()
    if grid.size < 2 or not np.isfinite(grid).all():
        raise ValueError(f"The '{name}' parameter must hold at least two finite numbers. Got {values!r}.")
    return grid


def _as_direction(direction: Any, net: Network, name: str) -> Params:
    try:
        W, b = direction
        params = Params(
            [np.asarray(w, dtype=net.dtype) for w in W], [np.asarray(v, dtype=net.dtype) for v in b]
        )
    except (TypeError, ValueError):
        raise TypeError(
            f"The '{name}' parameter must be a Params shaped like the network's parameters."
        ) from None
    if [w.shape for w in params.W] != [w.shape for w in net.W] or [v.shape for v in params.b] != [
        v.shape for v in net.b
    ]:
        raise ValueError(f"The '{name}' parameter must have the shapes of net.W and net.b.")
    return params


# ------------------------------------------------------------------ slices
def loss_slice(
    net: Network,
    X: Any,
    Y: Any,
    direction: Params | None = None,
    alphas: Any = None,
    l2: float = 0.0,
    biases: bool = False,
    random_state: RandomState = None,
) -> LossSlice:
    """The loss along one line through ``net``'s parameters: L(theta* + alpha d).

    Parameters
    ----------
    net : Network
        theta*, the trained point (not changed).
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
    direction : Params, optional
        d; by default a random filter-normalised one (:func:`random_direction`).
    alphas : array of shape (m,), default 51 points in [-1, 1]
    l2 : float, default 0
        The lecture's lambda in the loss that is drawn.
    biases : bool, default False
        Whether the random direction moves the biases too.
    random_state : None, int or Generator
        Seeds the random direction.

    Returns
    -------
    LossSlice

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> net = Network([2, 4, 1], activation="tanh", output="identity", random_state=0)
    >>> line = loss_slice(net, X, X[:, :1], alphas=[-1.0, 0.0, 1.0], random_state=0)
    >>> bool(line.losses[1] == net.loss(X, X[:, :1]))
    True
    """
    X, Y, l2, _ = check_inputs(net, X, Y, l2, None)
    alphas = _check_grid(alphas, "alphas", np.linspace(-1.0, 1.0, 51))
    d = (
        random_direction(net, random_state, biases)
        if direction is None
        else _as_direction(direction, net, "direction")
    )
    theta, step = flatten(net.params), flatten(d)
    losses = np.array([_loss_at(net, theta + alpha * step, X, Y, l2) for alpha in alphas])
    return LossSlice(alphas, losses, d, "random direction")


def loss_surface(
    net: Network,
    X: Any,
    Y: Any,
    directions: tuple[Params, Params] | None = None,
    alphas: Any = None,
    betas: Any = None,
    l2: float = 0.0,
    biases: bool = False,
    random_state: RandomState = None,
) -> LossSurface:
    """The loss on a plane through ``net``'s parameters: L(theta* + alpha d1 + beta d2).

    Parameters
    ----------
    net : Network
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
    directions : pair of Params, optional
        (d1, d2); by default two random filter-normalised directions.
    alphas, betas : arrays, default 31 points in [-1, 1] each
    l2 : float, default 0
    biases : bool, default False
    random_state : None, int or Generator

    Returns
    -------
    LossSurface
        ``losses`` of shape (len(betas), len(alphas)).

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> net = Network([2, 4, 1], activation="tanh", output="identity", random_state=0)
    >>> grid = np.linspace(-1, 1, 5)
    >>> surface = loss_surface(net, X, X[:, :1], alphas=grid, betas=[0.0, 0.5], random_state=0)
    >>> surface.losses.shape
    (2, 5)
    """
    X, Y, l2, _ = check_inputs(net, X, Y, l2, None)
    alphas = _check_grid(alphas, "alphas", np.linspace(-1.0, 1.0, 31))
    betas = _check_grid(betas, "betas", np.linspace(-1.0, 1.0, 31))
    if directions is None:
        rng = as_generator(random_state)
        d1, d2 = random_direction(net, rng, biases), random_direction(net, rng, biases)
    else:
        try:
            first, second = directions
        except (TypeError, ValueError):
            raise TypeError("The 'directions' parameter must be a pair (d1, d2) of Params.") from None
        d1, d2 = _as_direction(first, net, "directions"), _as_direction(second, net, "directions")
    theta, v1, v2 = flatten(net.params), flatten(d1), flatten(d2)
    losses = np.array([[_loss_at(net, theta + a * v1 + b * v2, X, Y, l2) for a in alphas] for b in betas])
    return LossSurface(alphas, betas, losses, (d1, d2))


def interpolate(
    net_a: Network, net_b: Network, X: Any, Y: Any, alphas: Any = None, l2: float = 0.0
) -> LossSlice:
    """The loss on the line between two solutions: L((1 - alpha) theta_A + alpha theta_B).

    Goodfellow, Vinyals and Saxe (ICLR 2015) drew it from the initial to the trained
    point; between two trained points a bump in the middle is a barrier between two
    minima, none a connected valley.

    Parameters
    ----------
    net_a, net_b : Network
        Of the same sizes, activations and output unit.
    X : array of shape (n, M_0)
    Y : array of shape (n, K)
    alphas : array, default 41 points in [-0.5, 1.5]
        0 is net_a, 1 is net_b.
    l2 : float, default 0

    Returns
    -------
    LossSlice
        ``direction`` = theta_B - theta_A, ``kind`` = "interpolation".

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> a = Network([2, 3, 1], output="identity", random_state=0)
    >>> b = Network([2, 3, 1], output="identity", random_state=1)
    >>> line = interpolate(a, b, X, X[:, :1], alphas=[0.0, 1.0])
    >>> bool(np.allclose(line.losses, [a.loss(X, X[:, :1]), b.loss(X, X[:, :1])]))
    True
    """
    X, Y, l2, _ = check_inputs(net_a, X, Y, l2, None)
    if not isinstance(net_b, Network):
        raise TypeError(
            f"The 'net_b' parameter must be a deltaprop Network. Got {type(net_b).__name__} instead."
        )
    same = (
        net_a.sizes == net_b.sizes
        and [act.name for act in net_a.activations] == [act.name for act in net_b.activations]
        and net_a.output.name == net_b.output.name
    )
    if not same:
        raise ValueError(
            f"Interpolation needs two networks of the same architecture; got {net_a!r} and {net_b!r}."
        )
    alphas = _check_grid(alphas, "alphas", np.linspace(-0.5, 1.5, 41))
    theta_a = flatten(net_a.params)
    step = flatten(net_b.params).astype(net_a.dtype) - theta_a
    losses = np.array([_loss_at(net_a, theta_a + alpha * step, X, Y, l2) for alpha in alphas])
    return LossSlice(alphas, losses, unflatten(step, net_a), "interpolation")


# ------------------------------------------------------------------ trajectories
def gd_trajectory(
    net: Network, X: Any, Y: Any, lr: float, steps: int = 100, every: int = 1, l2: float = 0.0
) -> tuple[Array, Network]:
    """Run the lecture's batch gradient descent from a copy of ``net``, keeping theta every ``every`` steps.

    Returns
    -------
    thetas : ndarray of shape (m, P)
        The flat parameters (:func:`deltaprop.lab.hvp`'s order) at steps 0, every, ..., T.
    trained : Network
        The network after T steps.

    Raises
    ------
    deltaprop.train.DivergenceError
        If the loss stops being finite (lower ``lr``).
    """
    X, Y, l2, _ = check_inputs(net, X, Y, l2, None)
    lr = check_positive(lr, "lr")
    check_scalar(steps, "steps", low=1, integer=True)
    check_scalar(every, "every", low=1, integer=True)
    trained = net.copy()
    thetas = [flatten(trained.params)]
    done = 0
    while done < steps:
        chunk = min(int(every), int(steps) - done)
        gradient_descent(trained, X, Y, lr=lr, l2=l2, steps=chunk)
        done += chunk
        thetas.append(flatten(trained.params))
    return np.array(thetas), trained


def project_trajectory(
    net: Network,
    thetas: Any,
    X: Any = None,
    Y: Any = None,
    l2: float = 0.0,
    grid: int = 31,
    margin: float = 0.2,
) -> Trajectory:
    """A path of parameters on the plane of its first two principal directions (module docstring).

    Parameters
    ----------
    net : Network
        The architecture (its parameters are not used; the last row of ``thetas`` is the origin).
    thetas : array of shape (m, P)
        theta_0, ..., theta_T in :func:`flatten`'s order, as :func:`gd_trajectory` returns them.
    X, Y : arrays, optional
        With them, the losses along the path and on a ``grid`` x ``grid`` plane around it.
    l2 : float, default 0
    grid : int, default 31
    margin : float, default 0.2
        The plane extends this fraction of the path's range beyond it on each side.

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop import Network
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 2))
    >>> net = Network([2, 4, 1], activation="tanh", output="identity", random_state=0)
    >>> thetas, trained = gd_trajectory(net, X, X[:, :1] * X[:, 1:], lr=0.5, steps=40, every=4)
    >>> path = project_trajectory(net, thetas, grid=5)
    >>> path.coords.shape, bool(np.allclose(path.coords[-1], 0.0))
    ((11, 2), True)
    """
    if not isinstance(net, Network):
        raise TypeError(f"The 'net' parameter must be a deltaprop Network. Got {type(net).__name__} instead.")
    thetas = np.asarray(thetas, dtype=np.float64)
    P = n_params(net)
    if thetas.ndim != 2 or thetas.shape[1] != P or thetas.shape[0] < 3:
        raise ValueError(
            f"The 'thetas' parameter must be an array of at least 3 rows of P = {P} parameters each. "
            f"Got shape {thetas.shape}."
        )
    check_scalar(grid, "grid", low=2, integer=True)
    origin = thetas[-1]
    M = thetas - origin
    _, s, Vt = np.linalg.svd(M, full_matrices=False)
    total = float(np.sum(s**2))
    explained = s[:2] ** 2 / total if total > 0 else np.zeros(2)
    v1, v2 = Vt[0], Vt[1]
    # A sign that makes the path start at positive coordinates: the figure reads left to right.
    if M[0] @ v1 < 0:
        v1 = -v1
    if M[0] @ v2 < 0:
        v2 = -v2
    coords = np.column_stack([M @ v1, M @ v2])
    directions = (unflatten(v1.astype(net.dtype), net), unflatten(v2.astype(net.dtype), net))
    losses = np.full(thetas.shape[0], np.nan)
    surface = None
    if X is not None and Y is not None:
        X, Y, l2, _ = check_inputs(net, X, Y, l2, None)
        losses = np.array([_loss_at(net, theta, X, Y, l2) for theta in thetas])
        spans = []
        for k in range(2):
            low, high = float(coords[:, k].min()), float(coords[:, k].max())
            pad = margin * max(high - low, 1e-12)
            spans.append(np.linspace(low - pad, high + pad, int(grid)))
        at_origin = _moved(net, origin)
        surface = loss_surface(at_origin, X, Y, directions, spans[0], spans[1], l2)
    return Trajectory(coords, explained, directions, losses, surface)
