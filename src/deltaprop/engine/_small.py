"""A small transposed copy of W^(h) on the stack, for the forward product a = z W^T.

OpenBLAS's kernel for ``C = A B^T`` (the forward product as NumPy calls it) is slower on
small matrices than its kernel for ``C = A B``: on the benchmark machine (AMD EPYC,
AVX-512) a = z W^T for 200 rows of 8 x 8 took 1.2 µs, z (W^T) with W^T copied first
0.6 µs (``benchmarks/bench_small_products.py``).  So the fused step copies W^(h)
transposed into a buffer of :data:`CAPACITY` numbers on the compiled function's stack
(allocated once per call frame, in the function's entry block: nothing on the heap, no
state) and calls the ``A B`` kernel where the sum is short (k <= 16 inputs, the crossover
the benchmark found on float32 and float64 alike) and W^(h) fits.  The copy changes no
bits: both kernels add the products in order, one fused multiply-add each.
"""

from __future__ import annotations

from typing import Any

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

CAPACITY = 4096  # numbers: 16 KiB of float32, 32 KiB of float64 on the stack


def _stack_buffer(typingctx: Any, like: Any) -> Any:
    """A pointer to CAPACITY numbers of ``like``'s dtype in the calling function's stack frame.

    Compiled code only; the buffer lives until that function returns (an ``alloca`` in its
    entry block, so one buffer per frame however often the call runs).
    """
    dtype = like.dtype

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return cgutils.alloca_once(builder, context.get_data_type(dtype), size=CAPACITY)

    return types.CPointer(dtype)(like), codegen


stack_buffer: Any = intrinsic(_stack_buffer)  # stack_buffer(like), in compiled code
