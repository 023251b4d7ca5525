"""How :func:`deltaprop.train.fit` draws its data: each epoch's batches of (X, Y, weights)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from deltaprop._types import Array

Batch = tuple[Array, Array, Array | None]  # (X_B, Y_B, sample weights of B or None)


def epoch_batches(
    n: int, batch_size: int, shuffle: bool, rng: np.random.Generator
) -> list[NDArray[np.intp] | slice]:
    """One epoch's batches: index arrays from a permutation, or contiguous slices."""
    if shuffle:
        order = rng.permutation(n)
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


class Batches:
    """Validated training data, cut into each epoch's batches.

    The full batch is X itself (never copied: the lecture's batch GD); unshuffled
    batches are views; shuffled ones are gathered into one buffer allocated here and
    reused by every batch, never a fresh copy per batch.  The caller's arrays are
    never reordered.
    """

    def __init__(self, X: Array, Y: Array, s: Array | None, batch_size: int, shuffle: bool) -> None:
        self.X, self.Y, self.s = X, Y, s
        self.n = X.shape[0]
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.full_batch = batch_size == self.n
        gather = shuffle and not self.full_batch
        self._X_buffer = np.empty((batch_size, X.shape[1]), X.dtype) if gather else None
        self._Y_buffer = np.empty((batch_size, Y.shape[1]), Y.dtype) if gather else None

    def epoch(self, rng: np.random.Generator) -> Iterator[Batch]:
        """The next epoch's batches; the new order (if shuffled) is drawn from ``rng`` now."""
        if self.full_batch:
            return self._take([slice(0, self.n)])  # views of all of X, in order
        return self._take(epoch_batches(self.n, self.batch_size, self.shuffle, rng))

    def _take(self, batches: list[NDArray[np.intp] | slice]) -> Iterator[Batch]:
        X, Y, s = self.X, self.Y, self.s
        for index in batches:
            if isinstance(index, slice):
                Xb, Yb = X[index], Y[index]  # views
            else:
                assert self._X_buffer is not None and self._Y_buffer is not None
                # mode="clip" (the indices are valid) lets take write straight into out
                Xb = X.take(index, axis=0, out=self._X_buffer[: index.size], mode="clip")
                Yb = Y.take(index, axis=0, out=self._Y_buffer[: index.size], mode="clip")
            yield Xb, Yb, None if s is None else s[index]
