"""Dask arrays as training data: checked, aligned by row blocks, persisted on the workers.

X is cut into row blocks only (all of a row's columns in one block); Y and the sample
weights take X's row blocks, so block j of each holds the same rows.  Persisting keeps
the blocks in the workers' memory (or, without a cluster, in this process), and the
tasks of each step refer to them by key: the data is never part of a step's graph.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import dask
import dask.array as da
import numpy as np
from dask.delayed import Delayed

from deltaprop.network import Network


def is_dask_collection(x: Any) -> bool:
    """True for a Dask array, dataframe, series or delayed object."""
    return dask.is_dask_collection(x)


class BlockData(NamedTuple):
    """Training data as aligned Dask arrays and their blocks.

    ``X`` (n, M_0), ``Y`` (n, K) and ``s`` (n,) or None share their row chunks;
    ``blocks`` lists, for every row block j, the delayed (X_j, Y_j, s_j) (s_j None
    without weights); ``n`` is the number of rows.
    """

    X: da.Array
    Y: da.Array
    s: da.Array | None
    blocks: list[tuple[Delayed, Delayed, Delayed | None]]
    n: int

    @property
    def rows(self) -> tuple[int, ...]:
        """The rows of each block."""
        return tuple(int(r) for r in self.X.chunks[0])


def _as_dask(x: Any, name: str, like: da.Array | None) -> da.Array:
    if isinstance(x, da.Array):
        return x
    if is_dask_collection(x):
        raise TypeError(
            f"{name} must be a Dask array (or a NumPy array beside a Dask X); got a "
            f"{type(x).__name__}. Turn a dataframe into one with .to_dask_array(lengths=True)."
        )
    if like is None:
        raise TypeError(f"{name} must be a Dask array; got {type(x).__name__}.")
    array = np.asarray(x)
    return da.from_array(array, chunks=(like.chunks[0], *array.shape[1:]))


def _known_rows(x: da.Array, name: str) -> None:
    if any(math.isnan(r) for r in x.chunks[0]):
        raise ValueError(
            f"{name} has row blocks of unknown size (a Dask dataframe's array). Give the sizes: "
            "df.to_dask_array(lengths=True), or x.compute_chunk_sizes()."
        )


def check_blocks(
    net: Network, X: Any, Y: Any, sample_weight: Any = None, *, persist: bool = True
) -> BlockData:
    """X, Y and sample_weight as aligned row blocks of the network's dtype, persisted if asked.

    Raises ``ValueError``/``TypeError`` naming the argument, like :meth:`Network.check_X`.
    Nothing is computed here except, with ``persist``, loading the blocks into the
    workers' memory (which runs in the background on a cluster).
    """
    X = _as_dask(X, "X", None)
    _known_rows(X, "X")
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise ValueError(
            f"X must be 2-D with {net.sizes[0]} columns (the input layer's width M_0); got shape {X.shape}."
        )
    X = X.astype(net.dtype).rechunk({1: -1})
    Y = _as_dask(Y, "Y", X)
    _known_rows(Y, "Y")
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[1] != net.sizes[-1]:
        raise ValueError(
            f"Y must be 2-D with {net.sizes[-1]} columns (the output layer's width K); got shape {Y.shape}."
        )
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"Y has {Y.shape[0]} rows but X has {X.shape[0]}; give one target row per sample.")
    Y = Y.astype(net.dtype).rechunk((X.chunks[0], -1))
    s = None
    if sample_weight is not None:
        s = _as_dask(sample_weight, "sample_weight", X).reshape(-1)
        _known_rows(s, "sample_weight")
        if s.shape[0] != X.shape[0]:
            raise ValueError(f"sample_weight has {s.shape[0]} entries but X has {X.shape[0]} samples.")
        s = s.astype(net.dtype).rechunk((X.chunks[0],))
    if persist:
        X, Y, s = dask.persist(X, Y, s)
    Xs, Ys = X.to_delayed().ravel(), Y.to_delayed().ravel()
    ss: list[Delayed | None] = [None] * len(Xs) if s is None else list(s.to_delayed().ravel())
    blocks = list(zip(Xs, Ys, ss, strict=True))
    return BlockData(X, Y, s, blocks, int(X.shape[0]))
