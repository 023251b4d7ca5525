"""The playground's data, network and training loop, all decided by its :class:`Settings`.

Points live in the square [-6, 6]^2 (TensorFlow Playground's), drawn from
:mod:`deltaprop.datasets` where it has the shape (circle, xor, spiral, moons) and by
the two regression surfaces and the Gaussian classes here.  One seed gives the data
(``random_state=seed``), the initial weights (``Network(..., random_state=seed)``) and
the order of the batches (``np.random.default_rng(seed + 1)``): the exported snippet
calls these same functions.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from deltaprop import datasets
from deltaprop._types import Array, Grads, Params
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation, by_name, chain
from deltaprop.playground._state import Settings
from deltaprop.train import Trainer

DOMAIN = 6.0  # points and heatmaps cover [-DOMAIN, DOMAIN]^2

_FEATURE_FUNCTIONS = {
    "x1": lambda p: p[:, 0],
    "x2": lambda p: p[:, 1],
    "x1^2": lambda p: p[:, 0] ** 2,
    "x2^2": lambda p: p[:, 1] ** 2,
    "x1x2": lambda p: p[:, 0] * p[:, 1],
    "sin_x1": lambda p: np.sin(p[:, 0]),
    "sin_x2": lambda p: np.sin(p[:, 1]),
}
FEATURE_LABELS = {
    "x1": "x₁",
    "x2": "x₂",
    "x1^2": "x₁²",
    "x2^2": "x₂²",
    "x1x2": "x₁x₂",
    "sin_x1": "sin x₁",
    "sin_x2": "sin x₂",
}
# Centres and signs of the bumps of the "bumps" regression surface.
_BUMPS = np.array([[-3.0, 2.5, 1.0], [2.5, 3.0, -1.0], [3.0, -2.5, 1.0], [-2.5, -3.0, -1.0], [0.0, 0.0, 0.7]])


class PlaygroundData(NamedTuple):
    """Points (n, 2), inputs (n, d) of the chosen features, targets (n, K), split in two."""

    points_train: Array
    points_test: Array
    X_train: Array
    X_test: Array
    Y_train: Array
    Y_test: Array
    y_train: NDArray[Any]  # class labels, or the real targets
    y_test: NDArray[Any]


def features(points: Array, names: tuple[str, ...] | list[str]) -> Array:
    """The input columns ``names`` (x1, x2, x1^2, x2^2, x1x2, sin_x1, sin_x2) of (n, 2) points."""
    return np.column_stack([_FEATURE_FUNCTIONS[name](points) for name in names])


def _points(settings: Settings, rng: np.random.Generator) -> tuple[Array, NDArray[Any]]:
    """(n, 2) points in [-6, 6]^2 and their labels (ints) or targets (floats)."""
    n, K, noise = settings.points, settings.n_classes, settings.noise / 100.0
    name = settings.dataset
    if name == "circle":  # radii 5 and 2.5
        X, y = datasets.circles(n, noise=0.5 * noise, factor=0.5, random_state=rng)
        return 5.0 * X, y
    if name == "xor":
        X, y = datasets.xor(n, noise=0.5 * noise, random_state=rng)
        return 5.0 * X, y
    if name == "spiral":
        X, y = datasets.spirals(n, n_classes=K, noise=1.5 * noise, turns=1.0, random_state=rng)
        return 5.5 * X, y
    if name == "moons":
        X, y = datasets.moons(n, noise=0.5 * noise, random_state=rng)
        return 3.5 * (X - np.array([0.5, 0.25])), y
    if name == "gauss":  # K Gaussian clusters with centres on a circle of radius 3
        y = np.arange(n) % K
        angle = 2.0 * np.pi * y / K + np.pi / 4
        centres = 3.0 * np.column_stack([np.cos(angle), np.sin(angle)])
        X = centres + (0.5 + 3.0 * noise) * rng.standard_normal((n, 2))
        order = rng.permutation(n)
        return X[order], y[order]
    P = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    t = surface(name, P)
    return P, t + noise * rng.standard_normal(n)


def surface(name: str, points: Array) -> Array:
    """The noise-free target of the regression data sets "plane" and "bumps" at (n, 2) points."""
    if name == "plane":
        return (points[:, 0] + points[:, 1]) / (2 * DOMAIN)
    diff = points[:, None, :] - _BUMPS[None, :, :2]
    return (_BUMPS[:, 2] * np.exp(-(diff**2).sum(axis=2) / (2 * 1.5**2))).sum(axis=1)


def make_data(settings: Settings) -> PlaygroundData:
    """The data of ``settings``: seeded points, features, targets, the train/test split.

    >>> data = make_data(Settings(dataset="xor", points=100, train_percent=60))
    >>> data.X_train.shape, data.Y_test.shape
    ((60, 2), (40, 2))
    """
    rng = np.random.default_rng(settings.seed)
    P, y = _points(settings, rng)
    n_train = max(1, min(len(P) - 1, round(len(P) * settings.train_percent / 100)))
    if settings.task == "classification":
        Y = np.eye(settings.n_classes)[y.astype(int)]
    else:
        Y = y.reshape(-1, 1)
    X = features(P, settings.features)
    return PlaygroundData(
        P[:n_train], P[n_train:], X[:n_train], X[n_train:], Y[:n_train], Y[n_train:], y[:n_train], y[n_train:]
    )


def make_network(settings: Settings) -> Network:
    """The initial network of ``settings``: softmax + cross-entropy or identity + squared error."""
    output = "identity" if settings.task == "regression" else "softmax"
    return Network(settings.sizes, activation=settings.activation, output=output, random_state=settings.seed)


def l1_penalty(rate: float) -> GradientTransformation:
    """Adds the gradient ``rate * sign(W)`` of the L1 penalty rate ||w||_1 (weights only).

    Chain it before an optimiser: ``chain(l1_penalty(0.01), by_name("gd", 0.1))``.
    """

    def init(params: Params) -> tuple[()]:
        return ()

    def update(grads: Grads, state: Any, params: Params | None = None) -> tuple[Params, Any]:
        if params is None:
            raise ValueError("l1_penalty needs the parameters: call update(grads, state, params).")
        W: list[Array] = [g + rate * np.sign(w) for g, w in zip(grads.W, params.W, strict=True)]
        return Params(W, list(grads.b)), state

    return GradientTransformation(init, update)


def make_trainer(net: Network, settings: Settings) -> Trainer:
    """A Trainer of ``net`` with the optimiser, learning rate and regularisation of ``settings``.

    L2 is the lecture's lambda (``Trainer(l2=...)``); L1 chains :func:`l1_penalty`
    before the named optimiser.
    """
    if settings.regularization == "l1" and settings.reg_rate > 0:
        optimizer = chain(l1_penalty(settings.reg_rate), by_name(settings.optimizer, settings.learning_rate))
        return Trainer(net, optimizer)
    l2 = settings.reg_rate if settings.regularization == "l2" else 0.0
    return Trainer(net, settings.optimizer, settings.learning_rate, l2=l2)


def train_epoch(trainer: Trainer, X: Array, Y: Array, batch_size: int, rng: np.random.Generator) -> float:
    """One epoch: the rows shuffled by ``rng``, then one ``trainer.step`` per batch.

    Returns the mean of the batch losses.  A batch size of at least n is the
    lecture's batch gradient descent (one step per epoch).
    """
    order = rng.permutation(X.shape[0])
    size = max(1, min(batch_size, X.shape[0]))
    losses = [
        trainer.step(X[order[i : i + size]], Y[order[i : i + size]]) for i in range(0, len(order), size)
    ]
    return float(np.mean(losses))
