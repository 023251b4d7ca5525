import numpy as np
import pytest

from deltaprop import Network
from deltaprop.activations import Activation
from deltaprop.train._workspace import Workspace

SQUARE = Activation("square", lambda a: a * a, lambda a, z: 2 * a)  # no in-place variants


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "identity", "softplus", SQUARE])
@pytest.mark.parametrize("output", ["softmax", "identity", "sigmoid"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_workspace_gives_the_pure_results_bit_for_bit(activation, output, dtype):
    rng = np.random.default_rng(0)
    net = Network([3, 5, 4, 2], activation=activation, output=output, random_state=0, dtype=dtype)
    workspace = Workspace(net, rows=9)
    for n, l2, weights in [(9, 0.0, None), (4, 0.1, None), (9, 0.0, rng.uniform(0, 1, 9))]:  # 4 < rows
        X = rng.normal(size=(n, 3)).astype(dtype)
        Y = np.eye(2, dtype=dtype)[rng.integers(0, 2, n)]
        s = None if weights is None else weights.astype(dtype)
        pure_cache = net.forward(X)
        pure = net.backward(pure_cache, Y, l2=l2, sample_weight=s)
        cache = net._forward(X, workspace)
        grads = net._backward(cache, Y, l2, s, workspace)
        for got, want in zip(cache.a + cache.z, pure_cache.a + pure_cache.z, strict=True):
            np.testing.assert_array_equal(got, want)
        for got, want in zip(grads.W + grads.b, pure.W + pure.b, strict=True):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == np.dtype(dtype)
        # every gradient lives in the one flat vector
        assert all(np.shares_memory(g, workspace.flat_grads.W[0]) for g in grads.W)
        assert all(np.shares_memory(g, workspace.flat_grads.b[0]) for g in grads.b)
        # the hot path's forward pass with its loss (fused for softmax) is the same too
        fused_cache, loss = net._forward_loss(X, Y, l2, s, workspace)
        assert loss == net.loss(X, Y, l2=l2, sample_weight=s)
        for got, want in zip(fused_cache.a + fused_cache.z, pure_cache.a + pure_cache.z, strict=True):
            np.testing.assert_array_equal(got, want)


def test_workspace_reuses_its_arrays_and_grows_on_demand():
    net = Network([3, 4, 2], random_state=0)
    workspace = Workspace(net, rows=4)
    first = net._forward(np.ones((4, 3)), workspace)
    second = net._forward(np.zeros((4, 3)), workspace)
    assert first.a[0] is second.a[0] and first.z[1] is second.z[1]
    with pytest.raises(ValueError, match="holds 4 rows; the batch has 6"):
        net._forward(np.ones((6, 3)), workspace)
    workspace.reserve(6)
    assert net._forward(np.ones((6, 3)), workspace).a[0].shape == (6, 4)
    workspace.reserve(2)  # never shrinks
    assert workspace.rows_allocated == 6


def test_workspace_flat_layout_and_binding():
    net = Network([3, 4, 2], random_state=0)
    before = net.copy()
    workspace = Workspace(net, rows=2)
    flat = workspace.flatten(net.params)
    assert flat.W[0].shape == (4 * 3 + 2 * 4,) and flat.b[0].shape == (4 + 2,)
    np.testing.assert_array_equal(flat.W[0][:12], net.W[0].ravel())
    views = workspace.unflatten(flat)
    for v, w in zip(views.W + views.b, net.W + net.b, strict=True):
        np.testing.assert_array_equal(v, w)
        assert np.shares_memory(v, flat.W[0]) or np.shares_memory(v, flat.b[0])
    assert not workspace.is_bound(net)
    workspace.bind(net)
    assert workspace.is_bound(net)
    assert workspace.flat_params is not None
    workspace.flat_params.W[0][:] += 1.0  # the network sees its flat vector
    np.testing.assert_array_equal(net.W[1], before.W[1] + 1.0)
    np.testing.assert_array_equal(net.b[0], before.b[0])
    net.params = before.copy().params  # replaced: no longer bound
    assert not workspace.is_bound(net)
