"""The engine's matrix products: NumPy's own BLAS, called from compiled code.

numba's ``np.dot`` calls the BLAS that SciPy ships, which may be another build of
OpenBLAS than NumPy's, and slower: on the benchmark machine its float32 products over a
long sum (the full batch's ``dW = delta^T z``) took 15-40 % longer than NumPy's
(``benchmarks/bench_training.py`` says which libraries are loaded).  So the engine
calls ``cblas_sgemm``/``cblas_dgemm`` of the OpenBLAS inside NumPy's wheel, the
function ``np.matmul`` calls, with the same arguments: the engine's products are
NumPy's to the bit, and the thread limit that threadpoolctl sets on NumPy's BLAS is
the engine's too.

The gradient norms' sums of squares are that library's ``cblas_sdot``/``cblas_ddot``,
as ``np.vdot`` computes them: a compiled loop that adds the squares in order (or in a
few interleaved sums) is about ten times slower, W1's 235,146 weights took 143 µs
against 15 µs a step.

The compiled code names these functions by symbol (``deltaprop_cblas_sgemm`` ...),
registered with LLVM when this module is imported, so the code cached on disk links to
wherever the library is loaded in this process.  Where NumPy has no such OpenBLAS
(another BLAS, another platform), the symbols are compiled functions with the same C
signature that call numba's ``np.dot``; ``DELTAPROP_BLAS=numba`` chooses them too.
:data:`PROVIDER` says which runs.
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
# ``real cblas_?dot(n, x, incx, y, incy)``: the sums of squares of the gradient norms.
sdot: Any = types.ExternalFunction(
    "deltaprop_cblas_sdot", types.float32(types.int64, types.uintp, types.int64, types.uintp, types.int64)
)
ddot: Any = types.ExternalFunction(
    "deltaprop_cblas_ddot", types.float64(types.int64, types.uintp, types.int64, types.uintp, types.int64)
)
# The C library's memcpy(target, source, bytes), addresses as integers: gathering a
# batch's rows, several times faster than an element loop (the rows of a shuffled batch).
memcpy: Any = types.ExternalFunction("memcpy", types.uintp(types.uintp, types.uintp, types.uintp))
FUNCTIONS = ("sgemm", "dgemm", "sdot", "ddot")


def _numpy_openblas_library() -> ctypes.CDLL | None:
    """NumPy's OpenBLAS (64-bit ints), with the functions the engine calls, if NumPy has one."""
    root = Path(np.__file__).parent
    for folder in (root.parent / "numpy.libs", root / ".dylibs"):
        for path in sorted(folder.glob("libscipy_openblas64_*")):
            try:
                lib = ctypes.CDLL(str(path))  # already loaded by NumPy: the same handle
                for name in FUNCTIONS:
                    getattr(lib, f"scipy_cblas_{name}64_")
                lib.scipy_openblas_get_num_threads64_.restype = ctypes.c_int
                lib.scipy_openblas_set_num_threads64_.argtypes = [ctypes.c_int]
            except (OSError, AttributeError):
                continue
            return lib
    return None


def _numpy_openblas() -> dict[str, int] | None:
    """The addresses of ``cblas_?gemm`` and ``cblas_?dot`` in NumPy's OpenBLAS, if any."""
    if _LIBRARY is None:
        return None
    found = {name: getattr(_LIBRARY, f"scipy_cblas_{name}64_") for name in FUNCTIONS}
    return {name: ctypes.cast(f, ctypes.c_void_p).value or 0 for name, f in found.items()}


def threads() -> int:
    """The threads BLAS may use now (the limit threadpoolctl sets); 1 where the engine's BLAS
    is numba's ``np.dot``, whose library it does not know."""
    if PROVIDER != "numpy" or _LIBRARY is None:
        return 1
    return max(1, int(_LIBRARY.scipy_openblas_get_num_threads64_()))


def set_threads(n: int) -> None:
    """Let NumPy's OpenBLAS use ``n`` threads (the engine's own threads call it on one each)."""
    if PROVIDER == "numpy" and _LIBRARY is not None:
        _LIBRARY.scipy_openblas_set_num_threads64_(n)


def _address(compiled: Any) -> int:
    address = compiled.address
    assert address is not None
    return int(address)


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

    return _address(gemm)


def _numba_dot(real: types.Type) -> int:
    """A compiled ``cblas_?dot`` (unit strides, as the engine calls it) on numba's ``np.dot``."""
    ptr = types.CPointer(real)

    @cfunc(real(types.int64, ptr, types.int64, ptr, types.int64), cache=True)
    def dot(n, x, incx, y, incy):
        return np.dot(carray(x, (n,)), carray(y, (n,)))

    return _address(dot)


def _register() -> str:
    found = None if os.environ.get("DELTAPROP_BLAS") == "numba" else _numpy_openblas()
    provider = "numpy"
    if found is None:
        provider = "numba"
        f32, f64 = types.float32, types.float64
        found = {
            "sgemm": _numba_gemm(f32),
            "dgemm": _numba_gemm(f64),
            "sdot": _numba_dot(f32),
            "ddot": _numba_dot(f64),
        }
    for name, address in found.items():
        llvm.add_symbol(f"deltaprop_cblas_{name}", address)
    return provider


_LIBRARY = _numpy_openblas_library()
PROVIDER = _register()  # "numpy": NumPy's OpenBLAS; "numba": numba's np.dot


@njit(cache=True)
def sum_squares(x, lo, hi):
    """sum of x_q^2 over q in [lo, hi), by BLAS's dot product (as ``np.vdot(x, x)``), as a float."""
    n = hi - lo
    if n <= 0:
        return 0.0
    start = x.ctypes.data + lo * x.itemsize
    if x.itemsize == 4:
        return float(sdot(n, start, 1, start, 1))
    return float(ddot(n, start, 1, start, 1))


@njit(cache=True)
def gemm(trans_a, trans_b, A, B, C, accumulate):
    """C = op(A) op(B), or C += op(A) op(B) with ``accumulate``, for C-contiguous 2-D arrays
    A, B, C of one dtype (op: transposed or not)."""
    M, N = C.shape
    K = A.shape[0] if trans_a else A.shape[1]
    ta = TRANS if trans_a else NO_TRANS
    tb = TRANS if trans_b else NO_TRANS
    lda, ldb = A.shape[1], B.shape[1]
    beta = 1.0 if accumulate else 0.0
    if C.itemsize == 4:
        one, b32 = np.float32(1.0), np.float32(beta)
        sgemm(ROW_MAJOR, ta, tb, M, N, K, one, A.ctypes.data, lda, B.ctypes.data, ldb, b32, C.ctypes.data, N)
    else:
        dgemm(ROW_MAJOR, ta, tb, M, N, K, 1.0, A.ctypes.data, lda, B.ctypes.data, ldb, beta, C.ctypes.data, N)
