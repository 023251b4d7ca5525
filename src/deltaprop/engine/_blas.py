"""The engine's matrix products: NumPy's own BLAS, called from compiled code.

numba's ``np.dot`` calls the BLAS that SciPy ships, which may be another build of
OpenBLAS than NumPy's, and slower: on the benchmark machine its float32 products over a
long sum (the full batch's ``dW = delta^T z``) took 15-40 % longer than NumPy's
(``benchmarks/bench_training.py`` says which libraries are loaded).  So the engine
calls ``cblas_sgemm``/``cblas_dgemm`` of the OpenBLAS inside NumPy's wheel, the
function ``np.matmul`` calls, with the same arguments: the engine's products are
NumPy's to the bit, and the thread limit that threadpoolctl sets on NumPy's BLAS is
the engine's too.

The compiled code names the two functions by symbol (``deltaprop_cblas_sgemm``,
``deltaprop_cblas_dgemm``), registered with LLVM when this module is imported, so the
code cached on disk links to wherever the library is loaded in this process.  Where
NumPy has no such OpenBLAS (another BLAS, another platform), the symbols are compiled
functions with the same C signature that call numba's ``np.dot``; ``DELTAPROP_BLAS=numba``
chooses them too.  :data:`PROVIDER` says which runs.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

import llvmlite.binding as llvm
import numpy as np
from numba import carray, cfunc, njit, types

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
_ARGS = (types.int32, types.int32, types.int32, types.int64, types.int64, types.int64)


def _external(name: str, real: types.Type) -> types.ExternalFunction:
    """``void name(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)``, 64-bit ints."""
    i64, ptr = types.int64, types.uintp
    return types.ExternalFunction(name, types.void(*_ARGS, real, ptr, i64, ptr, i64, real, ptr, i64))


# Called from compiled code only (typed for numba, not for Python).
sgemm: Any = _external("deltaprop_cblas_sgemm", types.float32)
dgemm: Any = _external("deltaprop_cblas_dgemm", types.float64)
# The C library's memcpy(target, source, bytes), addresses as integers: gathering a
# batch's rows, several times faster than an element loop (the rows of a shuffled batch).
memcpy: Any = types.ExternalFunction("memcpy", types.uintp(types.uintp, types.uintp, types.uintp))


def _numpy_openblas() -> tuple[int, int] | None:
    """The addresses of ``cblas_sgemm`` and ``cblas_dgemm`` (64-bit ints) in NumPy's OpenBLAS, if any."""
    root = Path(np.__file__).parent
    for folder in (root.parent / "numpy.libs", root / ".dylibs"):
        for path in sorted(folder.glob("libscipy_openblas64_*")):
            try:
                lib = ctypes.CDLL(str(path))  # already loaded by NumPy: the same handle
                s, d = lib.scipy_cblas_sgemm64_, lib.scipy_cblas_dgemm64_
            except (OSError, AttributeError):
                continue
            return ctypes.cast(s, ctypes.c_void_p).value or 0, ctypes.cast(d, ctypes.c_void_p).value or 0
    return None


def _numba_gemm(real: types.Type) -> int:
    """A compiled ``cblas_?gemm`` (row-major) on numba's ``np.dot``: where NumPy has no OpenBLAS to call."""
    i64 = types.int64
    ptr = types.CPointer(real)
    signature = types.void(*_ARGS, real, ptr, i64, ptr, i64, real, ptr, i64)

    @cfunc(signature, cache=True)
    def gemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
        if trans_a == TRANS:
            a = np.ascontiguousarray(carray(A, (K, lda))[:, :M].T)
        else:
            a = np.ascontiguousarray(carray(A, (M, lda))[:, :K])
        if trans_b == TRANS:
            b = np.ascontiguousarray(carray(B, (N, ldb))[:, :K].T)
        else:
            b = np.ascontiguousarray(carray(B, (K, ldb))[:, :N])
        c = carray(C, (M, ldc))
        product = np.dot(a, b)
        for i in range(M):
            for j in range(N):
                c[i, j] = alpha * product[i, j] + beta * c[i, j] if beta != 0 else alpha * product[i, j]

    address = gemm.address
    assert address is not None
    return int(address)


def _register() -> str:
    found = None if os.environ.get("DELTAPROP_BLAS") == "numba" else _numpy_openblas()
    if found is not None:
        s, d = found
        provider = "numpy"
    else:
        s, d = _numba_gemm(types.float32), _numba_gemm(types.float64)
        provider = "numba"
    llvm.add_symbol("deltaprop_cblas_sgemm", s)
    llvm.add_symbol("deltaprop_cblas_dgemm", d)
    return provider


PROVIDER = _register()  # "numpy": NumPy's OpenBLAS; "numba": numba's np.dot


@njit(cache=True)
def gemm(trans_a, trans_b, A, B, C):
    """C = op(A) op(B) for C-contiguous 2-D arrays A, B, C of one dtype (op: transposed or not)."""
    M, N = C.shape
    K = A.shape[0] if trans_a else A.shape[1]
    ta = TRANS if trans_a else NO_TRANS
    tb = TRANS if trans_b else NO_TRANS
    lda, ldb = A.shape[1], B.shape[1]
    if C.itemsize == 4:
        one, zero = np.float32(1.0), np.float32(0.0)
        sgemm(ROW_MAJOR, ta, tb, M, N, K, one, A.ctypes.data, lda, B.ctypes.data, ldb, zero, C.ctypes.data, N)
    else:
        dgemm(ROW_MAJOR, ta, tb, M, N, K, 1.0, A.ctypes.data, lda, B.ctypes.data, ldb, 0.0, C.ctypes.data, N)
