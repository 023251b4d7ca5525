"""How :func:`deltaprop.train.fit` draws its data: each epoch's batches of (X, Y, weights)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from deltaprop._types import Array

Batch = tuple[Array, Array, Array | None]  # (X_B, Y_B, sample weights of B or None)


class Batches:
    """Validated training data, cut into each epoch's batches.

    An epoch is planned as (order, starts): batch i is the rows
    ``order[starts[i]:starts[i+1]]`` of the data, a new permutation ``order`` each epoch
    when shuffling, None (the rows in order) otherwise.  The compiled engine runs such a
    plan in one call; :meth:`epoch` gives its batches as arrays.  The full batch is X
    itself (never copied: the lecture's batch GD); unshuffled batches are views;
    shuffled ones are gathered into one buffer, allocated by the first batch taken and
    reused by every batch, never a fresh copy per batch (a plan the engine runs takes
    none: it gathers into its own work vector).  The caller's arrays are never reordered.
    """

    def __init__(self, X: Array, Y: Array, s: Array | None, batch_size: int, shuffle: bool) -> None:
        self.X, self.Y, self.s = X, Y, s
        self.n = X.shape[0]
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.full_batch = batch_size == self.n
        self.steps_per_epoch = -(-self.n // batch_size)
        self.starts = np.append(np.arange(0, self.n, batch_size, dtype=np.int64), self.n)
        self.draws = shuffle and not self.full_batch  # a new order each epoch, drawn by plan()
        self._X_buffer: Array | None = None  # the gathered batch, allocated by the first one
        self._Y_buffer: Array | None = None

    def plan(self, rng: np.random.Generator) -> tuple[NDArray[np.intp] | None, NDArray[np.int64]]:
        """The next epoch as (order, starts); a permutation (if shuffled) is drawn from ``rng`` now."""
        return (self.draw(rng) if self.draws else None), self.starts

    def draw(self, rng: np.random.Generator) -> NDArray[np.intp]:
        """A new order of the rows, from ``rng``: the draw :meth:`plan` makes when shuffling."""
        return rng.permutation(self.n)

    def epoch(self, rng: np.random.Generator) -> Iterator[Batch]:
        """The next epoch's batches; the new order (if shuffled) is drawn from ``rng`` now."""
        return self.take(*self.plan(rng))

    def take(self, order: NDArray[np.intp] | None, starts: NDArray[np.int64]) -> Iterator[Batch]:
        """The batches of a plan, as arrays."""
        X, Y, s = self.X, self.Y, self.s
        for i in range(starts.shape[0] - 1):
            start, stop = int(starts[i]), int(starts[i + 1])
            if order is None:
                yield X[start:stop], Y[start:stop], None if s is None else s[start:stop]  # views
                continue
            if self._X_buffer is None or self._Y_buffer is None:  # (the engine gathers its own)
                self._X_buffer = np.empty((self.batch_size, X.shape[1]), X.dtype)
                self._Y_buffer = np.empty((self.batch_size, Y.shape[1]), Y.dtype)
            index = order[start:stop]
            # mode="clip" (the indices are valid) lets take write straight into out
            Xb = X.take(index, axis=0, out=self._X_buffer[: index.size], mode="clip")
            Yb = Y.take(index, axis=0, out=self._Y_buffer[: index.size], mode="clip")
            yield Xb, Yb, None if s is None else s[index]
