"""Optimisers as gradient transformations.

After optax, an optimiser is a pair of pure functions::

    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = apply_updates(params, updates)          # w <- w + u, new arrays

Updates are *added* to the parameters, so a descent step is ``u = -eta g``.  The
state is a NamedTuple of ints, floats and :class:`Params`; its ``step`` is the
number of updates already applied, and a learning rate is either a number or a
schedule ``eta(step)`` (:mod:`deltaprop.schedules`, whose names are importable from
here too).  The lecture's step is :func:`gd`; :func:`momentum` and
:func:`adam` reproduce scikit-learn's SGDOptimizer and AdamOptimizer to the last
bit.  Scalars are Python floats, so float32 parameters stay float32.

Each built-in optimiser also says what it is: ``spec`` = (name, hyper-parameters)
(see :class:`GradientTransformation`), by which the training loop recognises it and
computes the same step its own, faster, way.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from deltaprop._checks import check_below_one, check_positive, check_scalar
from deltaprop._types import Grads, Params
from deltaprop.optim._base import (
    AdamState,
    EmptyState,
    GradientTransformation,
    MomentumState,
    State,
    StepState,
    _map,
    _zeros_like,
    global_norm,
)
from deltaprop.schedules import (
    LearningRate,
    get_lr,
)


# ------------------------------------------------------------------ validation
def _check_learning_rate(learning_rate: Any, name: str = "learning_rate") -> LearningRate:
    if callable(learning_rate):
        return learning_rate
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
        raise TypeError(
            f"The {name!r} parameter must be a positive number or a schedule (a callable "
            f"step -> learning rate). Got {learning_rate!r} instead."
        )
    return float(check_scalar(learning_rate, name, low=0.0, low_inclusive=False))


# ------------------------------------------------------------------ optimisers
def gd(learning_rate: LearningRate) -> GradientTransformation:
    """Gradient descent, the lecture's step (the L2 penalty is already inside g).

    ::

        u_t = -eta_t g_t          eta_t = learning_rate, or learning_rate(t)

    Examples
    --------
    >>> import numpy as np
    >>> opt = gd(0.1)
    >>> g = Params([np.array([[1.0, -2.0]])], [np.array([4.0])])
    >>> updates, state = opt.update(g, opt.init(g), g)
    >>> updates.W[0], updates.b[0], state.step
    (array([[-0.1,  0.2]]), array([-0.4]), 1)
    """
    learning_rate = _check_learning_rate(learning_rate)

    def init(params: Params) -> StepState:
        return StepState(step=0)

    def update(grads: Grads, state: StepState, params: Params | None = None) -> tuple[Params, StepState]:
        lr = get_lr(learning_rate, state.step)
        return _map(lambda g: -lr * g, grads), StepState(state.step + 1)

    return GradientTransformation(init, update, ("gd", {"learning_rate": learning_rate}))


def momentum(
    learning_rate: LearningRate, beta: float = 0.9, nesterov: bool = False
) -> GradientTransformation:
    """Gradient descent with heavy-ball or Nesterov momentum, scikit-learn's SGDOptimizer.

    ::

        v_0     = 0
        v_{t+1} = beta v_t - eta_t g_t
        u_t     = v_{t+1}                      (nesterov=False)
        u_t     = beta v_{t+1} - eta_t g_t     (nesterov=True)

    With ``beta=0`` both are :func:`gd`.  ``by_name("sgd")`` is scikit-learn's
    default, ``beta=0.9, nesterov=True``.

    Examples
    --------
    >>> import numpy as np
    >>> opt = momentum(1.0, beta=0.5)
    >>> g = Params([np.array([[1.0]])], [np.array([2.0])])
    >>> state = opt.init(g)
    >>> u1, state = opt.update(g, state, g)
    >>> u2, state = opt.update(g, state, g)
    >>> u1.W[0], u2.W[0]
    (array([[-1.]]), array([[-1.5]]))
    """
    learning_rate = _check_learning_rate(learning_rate)
    beta = check_below_one(beta, "beta")
    if not isinstance(nesterov, bool):
        raise TypeError(f"The 'nesterov' parameter must be a bool. Got {nesterov!r} instead.")

    def init(params: Params) -> MomentumState:
        return MomentumState(step=0, velocity=_zeros_like(params))

    def update(
        grads: Grads, state: MomentumState, params: Params | None = None
    ) -> tuple[Params, MomentumState]:
        lr = get_lr(learning_rate, state.step)
        velocity = _map(lambda v, g: beta * v - lr * g, state.velocity, grads)
        updates = _map(lambda v, g: beta * v - lr * g, velocity, grads) if nesterov else velocity
        return updates, MomentumState(state.step + 1, velocity)

    spec = ("momentum", {"learning_rate": learning_rate, "beta": beta, "nesterov": nesterov})
    return GradientTransformation(init, update, spec)


def adam(
    learning_rate: LearningRate = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """Adam (Kingma & Ba, 2015), scikit-learn's AdamOptimizer.

    ::

        t       = step + 1
        m_t     = b1 m_{t-1} + (1 - b1) g_t                 m_0 = 0
        v_t     = b2 v_{t-1} + (1 - b2) g_t^2               v_0 = 0
        alpha_t = eta_{t-1} sqrt(1 - b2^t) / (1 - b1^t)
        u_t     = -alpha_t m_t / (sqrt(v_t) + eps)

    This is the paper's "efficient" form (end of its section 2): eps is added to
    sqrt(v_t), not to the bias-corrected sqrt(v_t / (1 - b2^t)).  Step 1 is
    ``-eta g / (|g| + eps / sqrt(1 - b2))``, i.e. ``-eta sign(g)`` up to eps.

    Examples
    --------
    >>> import numpy as np
    >>> opt = adam(0.1)
    >>> g = Params([np.array([[3.0, -0.5]])], [np.array([1e-3])])
    >>> updates, state = opt.update(g, opt.init(g), g)
    >>> np.round(updates.W[0], 6), np.round(updates.b[0], 6)
    (array([[-0.1,  0.1]]), array([-0.099968]))
    """
    learning_rate = _check_learning_rate(learning_rate)
    b1 = check_below_one(b1, "b1")
    b2 = check_below_one(b2, "b2")
    eps = check_positive(eps, "eps")

    def init(params: Params) -> AdamState:
        return AdamState(step=0, m=_zeros_like(params), v=_zeros_like(params))

    def update(grads: Grads, state: AdamState, params: Params | None = None) -> tuple[Params, AdamState]:
        t = state.step + 1
        m = _map(lambda m_prev, g: b1 * m_prev + (1.0 - b1) * g, state.m, grads)
        v = _map(lambda v_prev, g: b2 * v_prev + (1.0 - b2) * (g * g), state.v, grads)
        alpha = get_lr(learning_rate, state.step) * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        updates = _map(lambda m_t, v_t: -alpha * m_t / (np.sqrt(v_t) + eps), m, v)
        return updates, AdamState(t, m, v)

    spec = ("adam", {"learning_rate": learning_rate, "b1": b1, "b2": b2, "eps": eps})
    return GradientTransformation(init, update, spec)


def adamw(
    learning_rate: LearningRate = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> GradientTransformation:
    """Adam with decoupled weight decay on the weights W only (Loshchilov & Hutter, 2019).

    ::

        u_t(b) = adam's u_t(b)
        u_t(W) = adam's u_t(W) - eta_{t-1} weight_decay W_{t-1}

    The decay is multiplied by the *scheduled* learning rate eta_{t-1} =
    ``get_lr(learning_rate, step)``, not by Adam's bias-corrected alpha_t: the
    convention of PyTorch's and optax's AdamW.  The biases are never decayed, as
    the lecture's penalty never touches them.  Use it with ``l2=0`` in backward,
    or the weights are shrunk twice.  ``update`` needs ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> opt = adamw(0.1, weight_decay=0.5)
    >>> p = Params([np.array([[2.0]])], [np.array([2.0])])
    >>> g = Params([np.array([[1.0]])], [np.array([1.0])])
    >>> updates, _ = opt.update(g, opt.init(p), p)
    >>> np.round(updates.W[0], 6), np.round(updates.b[0], 6)   # -0.1 - 0.1 * 0.5 * 2
    (array([[-0.2]]), array([-0.1]))
    """
    base = adam(learning_rate, b1, b2, eps)
    weight_decay = float(check_scalar(weight_decay, "weight_decay", low=0.0))

    def update(grads: Grads, state: AdamState, params: Params | None = None) -> tuple[Params, AdamState]:
        if params is None:
            raise ValueError(
                "adamw decays the weights, so update needs them: call update(grads, state, params)."
            )
        updates, new_state = base.update(grads, state, params)
        decay = get_lr(learning_rate, state.step) * weight_decay
        W = [u - decay * w for u, w in zip(updates.W, params.W, strict=True)]
        return Params(W, updates.b), new_state

    assert base.spec is not None  # adam's hyper-parameters, as it validated them
    spec = ("adamw", {**base.spec[1], "weight_decay": weight_decay})
    return GradientTransformation(base.init, update, spec)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

    ::

        g <- g min(1, max_norm / ||g||),   ||g||^2 = sum_h ||g_W^(h)||^2 + ||g_b^(h)||^2

    Gradients already within the bound pass unchanged.  Compose it before an
    optimiser: ``chain(clip_by_global_norm(1.0), adam(1e-3))``.

    Examples
    --------
    >>> import numpy as np
    >>> g = Params([np.array([[3.0]])], [np.array([4.0])])
    >>> clipped, _ = clip_by_global_norm(1.0).update(g, EmptyState(), g)
    >>> clipped.W[0], clipped.b[0]
    (array([[0.6]]), array([0.8]))
    """
    max_norm = check_positive(max_norm, "max_norm")

    def init(params: Params) -> EmptyState:
        return EmptyState()

    def update(grads: Grads, state: EmptyState, params: Params | None = None) -> tuple[Params, EmptyState]:
        norm = global_norm(grads)
        if norm <= max_norm:
            return grads, state
        scale = max_norm / norm
        return _map(lambda g: scale * g, grads), state

    return GradientTransformation(init, update, ("clip_by_global_norm", {"max_norm": max_norm}))


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply transformations in order; the state is the tuple of their states.

    Examples
    --------
    >>> import numpy as np
    >>> opt = chain(clip_by_global_norm(1.0), gd(0.5))
    >>> g = Params([np.array([[30.0]])], [np.array([40.0])])
    >>> updates, state = opt.update(g, opt.init(g), g)
    >>> updates.W[0], updates.b[0], state
    (array([[-0.3]]), array([-0.4]), (EmptyState(), StepState(step=1)))
    """
    if not transforms:
        raise ValueError("chain needs at least one GradientTransformation; got none.")
    for i, transform in enumerate(transforms):
        if not isinstance(transform, GradientTransformation):
            raise TypeError(
                f"Every argument of chain must be a GradientTransformation; argument {i} is "
                f"{type(transform).__name__}."
            )

    def init(params: Params) -> tuple[State, ...]:
        return tuple(transform.init(params) for transform in transforms)

    def update(
        grads: Grads, state: tuple[State, ...], params: Params | None = None
    ) -> tuple[Params, tuple[State, ...]]:
        new_states = []
        for transform, inner in zip(transforms, state, strict=True):
            grads, inner = transform.update(grads, inner, params)  # type: ignore[arg-type]
            new_states.append(inner)
        return grads, tuple(new_states)

    return GradientTransformation(init, update, ("chain", {"transforms": transforms}))


_OPTIMISERS: dict[str, tuple[Callable[..., GradientTransformation], dict[str, Any]]] = {
    "gd": (gd, {}),
    "sgd": (momentum, {"beta": 0.9, "nesterov": True}),
    "momentum": (momentum, {}),
    "nesterov": (momentum, {"nesterov": True}),
    "adam": (adam, {}),
    "adamw": (adamw, {}),
}


def by_name(name: str, learning_rate: LearningRate, **options: Any) -> GradientTransformation:
    """The optimiser called ``name`` with ``learning_rate`` and its other hyper-parameters.

    ``"sgd"`` is scikit-learn's solver="sgd" default: Nesterov momentum with beta=0.9;
    ``"nesterov"`` is :func:`momentum` with nesterov=True.

    >>> by_name("adam", 1e-2, b1=0.8).init(Params([], [])).step
    0
    """
    if name not in _OPTIMISERS:
        raise ValueError(f"The optimiser name must be one of {list(_OPTIMISERS)}. Got {name!r} instead.")
    factory, defaults = _OPTIMISERS[name]
    accepted = [p for p in inspect.signature(factory).parameters if p != "learning_rate"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(f"The optimiser {name!r} does not take {unknown}; its options are {accepted}.")
    return factory(learning_rate, **{**defaults, **options})
