"""Row blocks streamed to the client in a seeded order, rows shuffled inside each block.

An epoch visits every block once, in an order drawn from the generator; each block's
rows are permuted (from the same generator) and cut into batches.  At most two blocks
are in the client's memory: the one being trained on and the next, fetched meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import dask
import numpy as np

from deltaprop._types import Array
from deltaprop.dask._data import BlockData

Block = tuple[Array, Array, Array | None]


def block_order(n_blocks: int, shuffle: bool, rng: np.random.Generator) -> list[int]:
    """The blocks of one epoch: a permutation drawn from ``rng``, or in order."""
    return [int(j) for j in rng.permutation(n_blocks)] if shuffle else list(range(n_blocks))


def _fetch(data: BlockData, j: int) -> Block:
    Xb, Yb, sb = data.blocks[j]
    if sb is None:
        X, Y = dask.compute(Xb, Yb)
        return X, Y, None
    X, Y, s = dask.compute(Xb, Yb, sb)
    return X, Y, s


def stream_blocks(data: BlockData, order: list[int]) -> Iterator[Block]:
    """The blocks of ``order`` as NumPy arrays, the next one fetched while the caller works on this one."""
    if not order:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming: Future[Block] = pool.submit(_fetch, data, order[0])
        for position in range(len(order)):
            block = upcoming.result()
            if position + 1 < len(order):
                upcoming = pool.submit(_fetch, data, order[position + 1])
            yield block
            del block


def batches_of_block(
    block: Block, batch_size: int, shuffle: bool, rng: np.random.Generator
) -> Iterator[Block]:
    """One block's rows, permuted from ``rng`` (when shuffling), in batches of ``batch_size``."""
    X, Y, s = block
    n = X.shape[0]
    if shuffle:
        order = rng.permutation(n)
        X, Y, s = X[order], Y[order], None if s is None else s[order]
    for start in range(0, n, batch_size):
        stop = start + batch_size
        yield X[start:stop], Y[start:stop], None if s is None else s[start:stop]
