"""The engine's products on small shapes (the forward product's copy of W^T among them) are NumPy's."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltaprop import Network
from deltaprop.optim import gd
from deltaprop.train import Trainer, fit

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}
WIDTHS = (1, 2, 3, 8, 16, 17, 40)  # 16: the last short sum copied to W^T; 17 and 40: BLAS's A B^T


def _products(n, M, k, dtype, accumulate, seed=0):
    from deltaprop.engine import _fused

    rng = np.random.default_rng(seed)
    z, W, delta = (rng.normal(size=shape).astype(dtype) for shape in [(n, k), (M, k), (n, M)])
    a, back = np.empty((n, M), dtype), np.empty((n, k), dtype)
    before = rng.normal(size=(M, k)).astype(dtype)
    dW = before.copy()
    _fused.forward_product(z, W, a)
    _fused.weight_gradient(delta, z, dW, accumulate)
    _fused.back_product(delta, W, back)
    want_dW = before + delta.T @ z if accumulate else delta.T @ z
    return [(a, z @ W.T), (dW, want_dW), (back, delta @ W)]


def _assert_products(n, M, k, dtype, accumulate, seed=0):
    tol = TOLERANCE[dtype]
    for got, want in _products(n, M, k, dtype, accumulate, seed):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_products_are_matmul_s(dtype, accumulate):
    # one row, one column, width one, and both sides of the short sum
    for n, M, k in itertools.product((1, 2, 7, 200), WIDTHS, WIDTHS):
        _assert_products(n, M, k, dtype, accumulate)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    M=st.integers(1, 70),
    k=st.integers(1, 70),
    dtype=st.sampled_from([np.float32, np.float64]),
    accumulate=st.booleans(),
)
def test_products_are_matmul_s_for_any_shapes(n, M, k, dtype, accumulate):
    _assert_products(n, M, k, dtype, accumulate, seed=n * 10000 + M * 100 + k)


def test_the_copied_forward_product_has_numpy_s_bits():
    from deltaprop.engine import _blas

    if _blas.PROVIDER != "numpy":
        pytest.skip("this NumPy has no OpenBLAS of its own: the engine calls numba's np.dot")
    for dtype in (np.float32, np.float64):
        for n, M, k in [(200, 8, 2), (200, 8, 8), (200, 2, 8), (5, 3, 4)]:  # W5's layers
            (a, want), *_ = _products(n, M, k, dtype, False)
            np.testing.assert_array_equal(a, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", [[2, 8, 8, 2], [20, 24, 3], [3, 16, 17, 1]])  # short sums, long, both
def test_a_small_network_in_the_engine_is_the_reference(sizes, dtype):
    rng = np.random.default_rng(1)
    n = 200
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    output = "identity" if sizes[-1] == 1 else "softmax"
    Y = (
        rng.normal(size=(n, 1)).astype(dtype)
        if output == "identity"
        else np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    )
    nets = {}
    for path in ("engine", "numpy"):
        net = nets[path] = Network(sizes, activation="relu", output=output, random_state=0, dtype=dtype)
        with np.errstate(all="ignore"):  # OpenBLAS's float32 flags, as in test_engine.py
            fit(net, X, Y, optimizer=Trainer(net, gd(0.05), path=path), epochs=50)
    tol = TOLERANCE[dtype]
    for got, want in zip(nets["engine"].W + nets["engine"].b, nets["numpy"].W + nets["numpy"].b, strict=True):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, float(np.abs(want).max())))
