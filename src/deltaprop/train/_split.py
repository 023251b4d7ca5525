"""The one way deltaprop splits rows into training and held-out parts.

:func:`deltaprop.fit` (``validation_fraction``), the estimators (``early_stopping``),
``deltaprop train`` (``--validation``) and ``deltaprop demo`` (its test rows) all call
:func:`split_validation`; what differs between them is a parameter, never a copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Indices = NDArray[np.intp]


def split_validation(
    n: int,
    fraction: float,
    rng: np.random.Generator,
    *,
    labels: Any = None,
    keep_one_per_class: bool = False,
    scikit_learn: bool = False,
) -> tuple[Indices, Indices]:
    """Row indices ``(train, held_out)`` that put ``fraction`` of ``n`` rows aside.

    Parameters
    ----------
    n : int
        The number of rows.
    fraction : float in [0, 1)
        The share held out: ``round(fraction * rows)`` of them, per class when stratified.
    rng : numpy Generator
        The only source of randomness; the same generator state gives the same split.
    labels : array of shape (n,), optional
        Class labels: stratify, so that each class keeps its share in both parts.
    keep_one_per_class : bool, default False
        With ``labels``, never hold out the last row of a class, so that training still
        sees every class (``deltaprop train``'s rule).
    scikit_learn : bool, default False
        Split as scikit-learn's ``train_test_split`` does, seeded from ``rng`` (the
        estimators, whose early stopping reproduces scikit-learn's MLP); the indices then
        come in its order, not sorted.  Needs scikit-learn.

    Returns
    -------
    train, held_out : int arrays
        Disjoint, together every row; sorted unless ``scikit_learn``.  Either may be
        empty: what an empty part means is the caller's to say.

    Examples
    --------
    >>> import numpy as np
    >>> train, val = split_validation(10, 0.2, np.random.default_rng(0))
    >>> len(train), len(val), sorted([*train, *val]) == list(range(10))
    (8, 2, True)
    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> _, val = split_validation(8, 0.5, np.random.default_rng(0), labels=labels)
    >>> np.bincount(labels[val]).tolist()
    [2, 2]
    """
    if scikit_learn:
        from sklearn.model_selection import train_test_split

        seed = int(rng.integers(np.iinfo(np.int32).max))
        train, held_out = train_test_split(
            np.arange(n), test_size=fraction, random_state=seed, stratify=labels
        )
        return np.asarray(train, dtype=np.intp), np.asarray(held_out, dtype=np.intp)
    if labels is None:
        held_out = np.sort(rng.permutation(n)[: round(fraction * n)])
    else:
        codes = np.unique(np.asarray(labels), return_inverse=True)[1].reshape(-1)
        parts = []
        for code in range(int(codes.max()) + 1 if n else 0):
            members = rng.permutation(np.flatnonzero(codes == code))
            size = round(fraction * members.size)
            if keep_one_per_class:
                size = min(size, members.size - 1)
            parts.append(members[:size])
        held_out = np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.intp)
    keep = np.ones(n, dtype=bool)
    keep[held_out] = False
    return np.flatnonzero(keep), held_out.astype(np.intp)
