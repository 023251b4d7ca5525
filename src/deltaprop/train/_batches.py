"""How :func:`deltaprop.train.fit` draws its data: each epoch's batches, and the progress
bar it shows while it trains.
"""

from __future__ import annotations

from typing import Any

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
