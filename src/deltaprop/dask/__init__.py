"""Training on Dask: the lecture's full-batch loss and gradient summed over row blocks on a cluster.

Needs the "dask" extra (``pip install 'deltaprop[dask]'``: dask.array, dask.dataframe
and distributed).  :class:`DaskObjective` computes L_S + λ/2‖w‖² and its gradient
exactly from per-block sums; :func:`fit` trains a network on Dask arrays by full-batch
steps over it, or by mini-batches streamed from the blocks; docs/dask.md says which to
use when.
"""

from deltaprop.dask._data import BlockData, check_blocks, is_dask_collection
from deltaprop.dask._fit import PARALLEL, fit
from deltaprop.dask._objective import DaskObjective, broadcast, current_client
from deltaprop.dask._stream import batches_of_block, block_order, stream_blocks
from deltaprop.dask._sums import (
    SPLIT_EVERY,
    BlockSums,
    add_sums,
    block_sums,
    finish,
    in_memory_loss_and_gradient,
    tree_sum,
)

__all__ = [
    "PARALLEL",
    "SPLIT_EVERY",
    "BlockData",
    "BlockSums",
    "DaskObjective",
    "add_sums",
    "batches_of_block",
    "block_order",
    "block_sums",
    "broadcast",
    "check_blocks",
    "current_client",
    "finish",
    "fit",
    "in_memory_loss_and_gradient",
    "is_dask_collection",
    "stream_blocks",
    "tree_sum",
]
