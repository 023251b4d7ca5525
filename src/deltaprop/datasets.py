"""Small data sets to train on: seeded 2-D toy problems and scikit-learn's bundled sets.

The generators draw everything from one ``np.random.Generator`` made from
``random_state``, so the same seed gives the same data.  Each returns ``(X, y)``
with X of shape (n, d), float64, and y of shape (n,): integer class labels
0..K-1 for classification, real targets for regression.  Classes get ``n // K``
samples each (the first ``n % K`` classes one more), and the samples are shuffled.

| name              | d | K | geometry (noise = 0)                                           |
|-------------------|---|---|----------------------------------------------------------------|
| xor               | 2 | 2 | points in the four quadrants, class 1 where x_1 x_2 < 0         |
| moons             | 2 | 2 | two interleaving half circles of radius 1                       |
| circles           | 2 | 2 | two concentric circles of radii 1 and ``factor``                |
| spirals           | 2 | K | K spiral arms r -> angle 2 pi k / K + 2 pi turns r              |
| blobs             | d | K | K Gaussian clusters around random centres                       |
| regression_curve  | 1 | - | y = sin(1.5 x) + 0.3 x on [-3, 3]                               |

``noise`` is the standard deviation of Gaussian noise added to the coordinates
(to the targets for ``regression_curve``, to the angle for ``spirals``).
:func:`load` returns any of these or scikit-learn's bundled sets by name and
:func:`available` lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from deltaprop._checks import as_generator, check_scalar
from deltaprop._types import RandomState

Data = tuple[NDArray[np.float64], NDArray[Any]]


class DatasetInfo(NamedTuple):
    """One row of :func:`available`: what :func:`load` returns for ``name``."""

    name: str
    kind: str
    n: int
    d: int
    description: str


def _check_common(n: Any, noise: Any) -> None:
    check_scalar(n, "n", low=1, integer=True)
    check_scalar(noise, "noise", low=0.0)


def _balanced_labels(n: int, n_classes: int) -> NDArray[np.int64]:
    """Labels 0..K-1, class k repeated n // K times (+1 for the first n % K classes)."""
    counts = n // n_classes + (np.arange(n_classes) < n % n_classes)
    return np.repeat(np.arange(n_classes, dtype=np.int64), counts)


def _shuffled(X: NDArray[np.float64], y: NDArray[Any], rng: np.random.Generator) -> Data:
    order = rng.permutation(X.shape[0])
    return X[order], y[order]


def xor(n: int = 200, noise: float = 0.1, random_state: RandomState = None) -> Data:
    """The XOR problem: class 1 in the 2nd and 4th quadrants, class 0 in the 1st and 3rd.

    Each point lies in one of the four quadrants (balanced), with both coordinates'
    magnitudes uniform in [0.1, 1]; then N(0, noise^2) is added to each coordinate.
    With ``noise=0`` the label is exactly ``x_1 x_2 < 0``.  No line separates the
    classes: a network needs a hidden layer.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,), int labels in {0, 1}

    Examples
    --------
    >>> X, y = xor(8, noise=0.0, random_state=0)
    >>> X.shape, y.shape
    ((8, 2), (8,))
    >>> bool(np.all(y == (X[:, 0] * X[:, 1] < 0)))
    True
    """
    _check_common(n, noise)
    rng = as_generator(random_state)
    quadrant = _balanced_labels(n, 4)  # 0: (+,+), 1: (+,-), 2: (-,-), 3: (-,+)
    signs = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])[quadrant]
    X = signs * rng.uniform(0.1, 1.0, (n, 2)) + noise * rng.standard_normal((n, 2))
    return _shuffled(X, quadrant % 2, rng)


def moons(n: int = 200, noise: float = 0.1, random_state: RandomState = None) -> Data:
    """Two interleaving half circles of radius 1, centred on the origin together.

    Class 0 is the upper half of the circle around c_0 = (-0.5, -0.25), class 1 the
    lower half of the circle around c_1 = (0.5, 0.25); the angles are uniform.
    N(0, noise^2) is then added to each coordinate.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,), int labels in {0, 1}

    Examples
    --------
    >>> X, y = moons(6, noise=0.0, random_state=0)
    >>> centres = np.array([[-0.5, -0.25], [0.5, 0.25]])[y]
    >>> np.allclose(np.linalg.norm(X - centres, axis=1), 1.0)
    True
    """
    _check_common(n, noise)
    rng = as_generator(random_state)
    y = _balanced_labels(n, 2)
    angle = rng.uniform(0.0, np.pi, n) + np.pi * y  # class 1 takes the lower half circle
    centres = np.array([[-0.5, -0.25], [0.5, 0.25]])[y]
    X = centres + np.column_stack([np.cos(angle), np.sin(angle)])
    X += noise * rng.standard_normal((n, 2))
    return _shuffled(X, y, rng)


def circles(n: int = 200, noise: float = 0.1, factor: float = 0.5, random_state: RandomState = None) -> Data:
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor``.

    The angles are uniform; N(0, noise^2) is then added to each coordinate.

    Parameters
    ----------
    factor : float in (0, 1), default 0.5
        The inner circle's radius.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,), int labels in {0, 1}

    Examples
    --------
    >>> X, y = circles(6, noise=0.0, random_state=0)
    >>> np.round(np.linalg.norm(X, axis=1), 6)[np.argsort(y)]
    array([1. , 1. , 1. , 0.5, 0.5, 0.5])
    """
    _check_common(n, noise)
    check_scalar(factor, "factor", low=0.0, low_inclusive=False)
    if factor >= 1:
        raise ValueError(f"The 'factor' parameter must be in (0, 1). Got {factor!r} instead.")
    rng = as_generator(random_state)
    y = _balanced_labels(n, 2)
    radius = np.where(y == 0, 1.0, factor)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X += noise * rng.standard_normal((n, 2))
    return _shuffled(X, y, rng)


def spirals(
    n: int = 300,
    n_classes: int = 3,
    noise: float = 0.2,
    turns: float = 0.75,
    random_state: RandomState = None,
) -> Data:
    """K interleaved spiral arms, one per class.

    A point of class k has radius r uniform in [0, 1] and angle

        theta = 2 pi k / K + 2 pi turns r + eps,     eps ~ N(0, noise^2),

    so ``noise`` is in radians, along the arm: X = r (cos theta, sin theta).

    Parameters
    ----------
    n_classes : int, default 3
        The number K of arms (classes).
    turns : float, default 0.75
        How many full turns each arm winds from the centre to radius 1.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,), int labels in 0..K-1

    Examples
    --------
    >>> X, y = spirals(300, n_classes=3, random_state=0)
    >>> X.shape, np.bincount(y).tolist()
    ((300, 2), [100, 100, 100])
    """
    _check_common(n, noise)
    check_scalar(n_classes, "n_classes", low=1, integer=True)
    check_scalar(turns, "turns", low=0.0)
    rng = as_generator(random_state)
    y = _balanced_labels(n, n_classes)
    r = rng.uniform(0.0, 1.0, n)
    theta = 2.0 * np.pi * y / n_classes + 2.0 * np.pi * turns * r + noise * rng.standard_normal(n)
    X = r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    return _shuffled(X, y, rng)


def blobs(
    n: int = 200,
    n_classes: int = 3,
    n_features: int = 2,
    noise: float = 1.0,
    spread: float = 5.0,
    random_state: RandomState = None,
) -> Data:
    """K Gaussian clusters: class k is N(c_k, noise^2 I) with c_k uniform in [-spread, spread]^d.

    Parameters
    ----------
    n_classes : int, default 3
        The number K of clusters (classes).
    n_features : int, default 2
        The input dimension d.
    noise : float, default 1.0
        The clusters' standard deviation.
    spread : float, default 5.0
        Half the side of the box the centres are drawn from.

    Returns
    -------
    X : ndarray of shape (n, n_features)
    y : ndarray of shape (n,), int labels in 0..K-1

    Examples
    --------
    >>> X, y = blobs(10, n_classes=2, n_features=4, random_state=0)
    >>> X.shape, np.bincount(y).tolist()
    ((10, 4), [5, 5])
    """
    _check_common(n, noise)
    check_scalar(n_classes, "n_classes", low=1, integer=True)
    check_scalar(n_features, "n_features", low=1, integer=True)
    check_scalar(spread, "spread", low=0.0)
    rng = as_generator(random_state)
    centres = rng.uniform(-spread, spread, (n_classes, n_features))
    y = _balanced_labels(n, n_classes)
    X = centres[y] + noise * rng.standard_normal((n, n_features))
    return _shuffled(X, y, rng)


def regression_function(x: Any) -> NDArray[np.float64]:
    """The noise-free curve of :func:`regression_curve`: sin(1.5 x) + 0.3 x.

    Examples
    --------
    >>> regression_function(np.array([0.0]))
    array([0.])
    """
    x = np.asarray(x, dtype=np.float64)
    return np.sin(1.5 * x) + 0.3 * x


def regression_curve(n: int = 200, noise: float = 0.1, random_state: RandomState = None) -> Data:
    """A 1-D regression problem: y = sin(1.5 x) + 0.3 x + eps, x uniform in [-3, 3].

    eps ~ N(0, noise^2).  See :func:`regression_function` for the curve itself.

    Returns
    -------
    X : ndarray of shape (n, 1)
    y : ndarray of shape (n,), float targets

    Examples
    --------
    >>> X, y = regression_curve(5, noise=0.0, random_state=0)
    >>> X.shape, y.shape
    ((5, 1), (5,))
    >>> np.allclose(y, regression_function(X[:, 0]))
    True
    """
    _check_common(n, noise)
    rng = as_generator(random_state)
    x = rng.uniform(-3.0, 3.0, n)
    y = regression_function(x) + noise * rng.standard_normal(n)
    return x[:, None], y


# ------------------------------------------------------------------ by name
_GENERATED: dict[str, tuple[Callable[..., Data], DatasetInfo]] = {
    "xor": (xor, DatasetInfo("xor", "classification", 200, 2, "XOR: four quadrants, 2 classes")),
    "moons": (moons, DatasetInfo("moons", "classification", 200, 2, "two interleaving half circles")),
    "circles": (circles, DatasetInfo("circles", "classification", 200, 2, "two concentric circles")),
    "spirals": (spirals, DatasetInfo("spirals", "classification", 300, 2, "three interleaved spiral arms")),
    "blobs": (blobs, DatasetInfo("blobs", "classification", 200, 2, "three Gaussian clusters")),
    "regression_curve": (
        regression_curve,
        DatasetInfo("regression_curve", "regression", 200, 1, "y = sin(1.5 x) + 0.3 x + noise"),
    ),
}

# scikit-learn's bundled sets: (loader function name in sklearn.datasets, info).
_BUNDLED: dict[str, tuple[str, DatasetInfo]] = {
    "iris": ("load_iris", DatasetInfo("iris", "classification", 150, 4, "iris flowers, 3 species")),
    "digits": (
        "load_digits",
        DatasetInfo("digits", "classification", 1797, 64, "8x8 images of handwritten digits 0-9"),
    ),
    "wine": ("load_wine", DatasetInfo("wine", "classification", 178, 13, "wine chemistry, 3 cultivars")),
    "breast_cancer": (
        "load_breast_cancer",
        DatasetInfo("breast_cancer", "classification", 569, 30, "breast tumours, malignant or benign"),
    ),
    "diabetes": (
        "load_diabetes",
        DatasetInfo("diabetes", "regression", 442, 10, "diabetes progression after one year"),
    ),
}


def dataset_names() -> list[str]:
    """Every name :func:`load` accepts: the generators first, then scikit-learn's sets."""
    return [*_GENERATED, *_BUNDLED]


def available() -> list[DatasetInfo]:
    """Every data set :func:`load` knows, as ``(name, kind, n, d, description)`` rows.

    ``kind`` is "classification" or "regression"; n and d are the sizes :func:`load`
    returns (the generators' defaults).  Nothing is loaded or imported.

    Examples
    --------
    >>> [info.name for info in available() if info.kind == "regression"]
    ['regression_curve', 'diabetes']
    """
    return [info for _, info in _GENERATED.values()] + [info for _, info in _BUNDLED.values()]


def load(name: str, *, random_state: RandomState = None) -> Data:
    """A data set by name: a generator with its defaults, or one of scikit-learn's bundled sets.

    Parameters
    ----------
    name : str
        One of :func:`dataset_names`: "xor", "moons", "circles", "spirals", "blobs",
        "regression_curve", "iris", "digits", "wine", "breast_cancer", "diabetes".
    random_state : None, int, numpy Generator or RandomState
        The generators' seed; the bundled sets are fixed and ignore it.

    Returns
    -------
    X : ndarray of shape (n, d), float64
    y : ndarray of shape (n,)
        int64 class labels 0..K-1 for classification, float64 targets for regression.

    Raises
    ------
    ValueError
        For an unknown name; the message lists every valid one.

    Examples
    --------
    >>> X, y = load("iris")
    >>> X.shape, X.dtype.name, sorted(set(y.tolist()))
    ((150, 4), 'float64', [0, 1, 2])
    """
    if not isinstance(name, str):
        raise TypeError(f"The 'name' parameter must be a str. Got {type(name).__name__} instead.")
    if name in _GENERATED:
        generator, _ = _GENERATED[name]
        return generator(random_state=random_state)
    if name in _BUNDLED:
        import sklearn.datasets  # the optional dependency, imported only when needed

        loader, info = _BUNDLED[name]
        bunch = getattr(sklearn.datasets, loader)()
        X = np.asarray(bunch.data, dtype=np.float64)
        target_dtype = np.int64 if info.kind == "classification" else np.float64
        return X, np.asarray(bunch.target, dtype=target_dtype)
    raise ValueError(f"The 'name' parameter must be one of {dataset_names()}. Got {name!r} instead.")
