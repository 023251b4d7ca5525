"""How :func:`deltaprop.train.fit` draws its data: the validation split, each epoch's
batches, and the progress bar it shows while it trains.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from deltaprop._types import Array


def split_validation(
    n: int, Y: Array, fraction: float, stratify: bool, rng: np.random.Generator
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Indices (train, validation); stratified by class when asked."""
    if stratify:
        labels = Y.argmax(axis=1)
        val_parts = []
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            val_parts.append(members[: round(fraction * members.size)])
        val = np.sort(np.concatenate(val_parts))
    else:
        val = np.sort(rng.permutation(n)[: round(fraction * n)])
    if val.size == 0 or val.size == n:
        raise ValueError(
            f"validation_fraction={fraction} leaves {val.size} of {n} samples for validation; "
            "both parts need at least one sample."
        )
    train = np.setdiff1d(np.arange(n), val, assume_unique=True)
    return train, val


def epoch_batches(
    n: int, batch_size: int, shuffle: bool, rng: np.random.Generator
) -> list[NDArray[np.intp] | slice]:
    """One epoch's batches: index arrays from a permutation, or contiguous slices."""
    if shuffle:
        order = rng.permutation(n)
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def progress_bar(verbose: bool, epochs: int) -> Any:
    """A rich progress bar over ``epochs`` when ``verbose``, else None."""
    if not verbose:
        return None
    try:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    except ImportError:  # pragma: no cover - rich is in the "progress" extra
        raise ImportError("verbose=True needs rich: pip install 'deltaprop[progress]'") from None
    return Progress(
        TextColumn("epoch {task.completed}/{task.total}"),
        BarColumn(),
        TextColumn("{task.fields[metrics]}"),
        TimeRemainingColumn(),
        transient=False,
    )
