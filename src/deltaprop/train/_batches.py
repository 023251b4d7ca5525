"""How :func:`deltaprop.train.fit` draws its data: each epoch's batches."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def epoch_batches(
    n: int, batch_size: int, shuffle: bool, rng: np.random.Generator
) -> list[NDArray[np.intp] | slice]:
    """One epoch's batches: index arrays from a permutation, or contiguous slices."""
    if shuffle:
        order = rng.permutation(n)
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
