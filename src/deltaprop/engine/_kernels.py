"""The split step's compiled loops: the element-wise work of a step between NumPy's products and ufuncs.

Imported only when an engine is first made (``import deltaprop`` never imports numba).
Every kernel is ``@njit(cache=True)`` without fastmath: IEEE arithmetic, no
contraction into fused multiply-adds, the same bits run after run.  numba compiles one
version per dtype; scalars are passed in the arrays' dtype (``dtype.type(x)``), so
float32 arithmetic stays float32, as NumPy's does with Python scalars.  The compiled
code is cached beside this file, or in numba's user-wide cache directory
(``NUMBA_CACHE_DIR``, else ``~/.cache/numba``) where the package is not writable.

Transcendental functions (tanh, exp of sigmoid, softplus and gelu) are left to NumPy's
vectorised ufuncs between these kernels: numba's scalar ``tanh`` and ``exp`` are
several times slower.
"""

from __future__ import annotations

from numba import njit

from deltaprop.engine._fused import column_sums  # noqa: F401  (the fused step's, for the split step)


# ------------------------------------------------------------ forward
@njit(cache=True)
def bias(a, b):
    """a += b, row by row (a^(h) = W z + b); z = a for the identity."""
    n, M = a.shape
    for i in range(n):
        for j in range(M):
            a[i, j] += b[j]


@njit(cache=True)
def bias_relu(a, b, z):
    """a += b; z = max(a, 0)."""
    n, M = a.shape
    for i in range(n):
        for j in range(M):
            v = a[i, j] + b[j]
            a[i, j] = v
            z[i, j] = v if v > 0 else 0


@njit(cache=True)
def bias_leaky_relu(a, b, z, slope):
    """a += b; z = a where a > 0, else slope a."""
    n, M = a.shape
    for i in range(n):
        for j in range(M):
            v = a[i, j] + b[j]
            a[i, j] = v
            z[i, j] = v if v > 0 else slope * v


# ------------------------------------------------------------ backward: g o sigma'(a), in place
@njit(cache=True)
def times_relu_df(a, g):
    n, M = g.shape
    for i in range(n):
        for j in range(M):
            if not a[i, j] > 0:  # ReLU'(0) = 0, the weak derivative
                g[i, j] *= 0


@njit(cache=True)
def times_leaky_relu_df(a, g, one, slope):
    n, M = g.shape
    for i in range(n):
        for j in range(M):
            g[i, j] *= one if a[i, j] > 0 else slope


@njit(cache=True)
def times_sigmoid_df(z, g, one):
    n, M = g.shape
    for i in range(n):
        for j in range(M):
            g[i, j] *= z[i, j] * (one - z[i, j])


@njit(cache=True)
def times_tanh_df(z, g, one):
    n, M = g.shape
    for i in range(n):
        for j in range(M):
            g[i, j] *= one - z[i, j] * z[i, j]


# ------------------------------------------------------------ output unit + loss + delta^(D)
@njit(cache=True)
def bias_max_shift(a, b, m, e):
    """a += b; m_i = max_k a_ik; e = a - m: the logits, shifted for an exp that cannot overflow."""
    n, K = a.shape
    for i in range(n):
        top = a[i, 0] + b[0]
        for k in range(K):
            v = a[i, k] + b[k]
            a[i, k] = v
            if v > top:
                top = v
        m[i] = top
        for k in range(K):
            e[i, k] = a[i, k] - top


@njit(cache=True)
def softmax_delta(e, s, Y, c):
    """delta = c_i (e / s_i - Y) in place in e = e^{a - m}: f = softmax(a), then f - Y, scaled."""
    n, K = e.shape
    for i in range(n):
        for k in range(K):
            e[i, k] = (e[i, k] / s[i] - Y[i, k]) * c[i]


@njit(cache=True)
def output_delta(f, Y, c, delta):
    """delta = c_i (f - Y), for an output unit computed by NumPy."""
    n, K = f.shape
    for i in range(n):
        for k in range(K):
            delta[i, k] = (f[i, k] - Y[i, k]) * c[i]


# ------------------------------------------------------------ gradients
@njit(cache=True)
def add_scaled(x, y, s):
    """x += s y on flat vectors (the L2 term: dL/dW += lambda W)."""
    for i in range(x.shape[0]):
        x[i] += s * y[i]
