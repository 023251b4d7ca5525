"""The training loop's fast path computes the reference's numbers, bit for bit."""

import numpy as np
import pytest

from deltaprop import Network, losses, optim
from deltaprop.activations import ACTIVATIONS, Activation
from deltaprop.losses import OUTPUTS, OutputLoss
from deltaprop.optim import (
    GradientTransformation,
    adam,
    apply_updates,
    by_name,
    chain,
    clip_by_global_norm,
)
from deltaprop.train import Trainer
from deltaprop.train import _fastpath as fastpath
from deltaprop.train._fastpath import (
    Workspace,
    activate,
    backward,
    forward,
    forward_loss,
    times_derivative,
)

SQUARE = Activation("square", lambda a: a * a, lambda a, z: 2 * a)  # no in-place kernels
NAMED = ["gd", "sgd", "momentum", "nesterov", "adam", "adamw"]


# ------------------------------------------------------------------ workspace
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
        cache = forward(net, X, workspace)
        grads = backward(net, cache, Y, l2, s, workspace)
        for got, want in zip(cache.a + cache.z, pure_cache.a + pure_cache.z, strict=True):
            np.testing.assert_array_equal(got, want)
        for got, want in zip(grads.W + grads.b, pure.W + pure.b, strict=True):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == np.dtype(dtype)
        # every gradient lives in the one flat vector
        assert all(np.shares_memory(g, workspace.flat_grads.W[0]) for g in grads.W)
        assert all(np.shares_memory(g, workspace.flat_grads.b[0]) for g in grads.b)
        # the hot path's forward pass with its loss (fused for softmax) is the same too
        fused_cache, loss = forward_loss(net, X, Y, l2, s, workspace)
        assert loss == net.loss(X, Y, l2=l2, sample_weight=s)
        for got, want in zip(fused_cache.a + fused_cache.z, pure_cache.a + pure_cache.z, strict=True):
            np.testing.assert_array_equal(got, want)


def test_workspace_reuses_its_arrays_and_grows_on_demand():
    net = Network([3, 4, 2], random_state=0)
    workspace = Workspace(net, rows=4)
    first = forward(net, np.ones((4, 3)), workspace)
    second = forward(net, np.zeros((4, 3)), workspace)
    assert first.a[0] is second.a[0] and first.z[1] is second.z[1]
    with pytest.raises(ValueError, match="holds 4 rows; the batch has 6"):
        forward(net, np.ones((6, 3)), workspace)
    workspace.reserve(6)
    assert forward(net, np.ones((6, 3)), workspace).a[0].shape == (6, 4)
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


# ------------------------------------------------------------ products, sums
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_over_a_single_index_are_matmul_to_the_bit(dtype):
    rng = np.random.default_rng(0)
    column, row = rng.normal(size=(257, 1)).astype(dtype), rng.normal(size=(1, 65)).astype(dtype)
    wide = rng.normal(size=(65, 3)).astype(dtype)
    for A, B in [(column, row), (row.T, column.T), (column, row @ wide)]:  # plain and transposed views
        out = np.empty((A.shape[0], B.shape[1]), dtype)
        assert fastpath._matmul(A, B, out) is out
        np.testing.assert_array_equal(out, np.matmul(A, B))
    np.testing.assert_array_equal(fastpath._matmul(wide, wide.T), np.matmul(wide, wide.T))  # the general case


@pytest.mark.parametrize("shape", [(2000, 5), (3, 5), (500, 40), (64, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_short_row_reductions_match_numpys_axis_reductions(shape, dtype):
    # Many short rows take the column-wise maximum and the sum by a product with ones;
    # the results must be NumPy's, up to the order of the additions, and the reference's.
    a = np.random.default_rng(1).normal(scale=30.0, size=shape).astype(dtype)
    a[0, -1] = 1e4
    workspace = Workspace(Network([2, shape[1]], dtype=dtype, random_state=0), rows=1)
    ones = workspace.ones(shape[1])
    np.testing.assert_array_equal(fastpath._row_max(a), a.max(axis=1))
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    row_sum = fastpath._row_sum(a, ones)
    np.testing.assert_allclose(row_sum, a.sum(axis=1), rtol=rtol, atol=rtol * np.abs(a).sum(axis=1).max())
    np.testing.assert_array_equal(row_sum, losses._sum_over_k(a))
    # the vectors of ones are made once per width (in the workspace's dtype), and cannot be changed
    assert workspace.ones(shape[1]) is ones
    assert not ones.flags.writeable and ones.dtype == dtype and (ones == 1).all()


@pytest.mark.parametrize("shape", [(2000, 5), (7, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_softmax_and_cross_entropy_equal_the_separate_ones_bit_for_bit(shape, dtype):
    out = OUTPUTS["softmax"]
    rng = np.random.default_rng(2)
    a = rng.normal(scale=5.0, size=shape).astype(dtype)
    a[0, 0] = 1e4  # no overflow on the fused path either
    Y = np.eye(shape[1], dtype=dtype)[rng.integers(0, shape[1], size=shape[0])]
    f, per_sample = fastpath._softmax_and_cross_entropy(a, Y, np.ones(shape[1], dtype))
    np.testing.assert_array_equal(f, out.f(a))
    np.testing.assert_array_equal(per_sample, out.per_sample(a, Y))
    assert np.isfinite(per_sample).all()


def test_only_softmax_is_fused_with_its_loss():
    assert set(fastpath._FUSED) == {"softmax"}
    # a user-defined output unit under a built-in name runs its own f and per_sample
    own = OutputLoss("softmax", "cross_entropy", lambda a: a, lambda a, Y: (a - Y).sum(axis=1))
    net = Network([2, 3], output=own, random_state=0)
    X, Y = np.ones((4, 2)), np.eye(3)[[0, 1, 2, 0]]
    cache, loss = forward_loss(net, X, Y, 0.0, None, Workspace(net, rows=4))
    np.testing.assert_array_equal(cache.z[-1], cache.a[-1])
    assert loss == net.loss(X, Y)


# ------------------------------------------------------------ activations
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_kernels_give_exactly_f_and_df(name, dtype):
    act = ACTIVATIONS[name]
    a = np.array([-3.0, -0.5, -0.0, 0.0, 1e-30, 0.5, 3.0], dtype=dtype)
    z = act.f(a)
    out = np.full_like(a, np.nan)
    got = activate(act, a, out)
    np.testing.assert_array_equal(got, z)
    assert got.dtype == dtype and (name not in fastpath._F_OUT or got is out)
    g = np.linspace(-2.0, 2.0, a.size).astype(dtype)
    want = act.df(a, z) * g
    got = times_derivative(act, a, z, g)
    np.testing.assert_array_equal(got, want)
    assert got is g and got.dtype == dtype  # in place, in g's memory
    np.testing.assert_array_equal(activate(act, a), z)  # no out: a new array, f(a)


def test_relu_in_place_derivative_is_weak_at_zero():
    relu = ACTIVATIONS["relu"]
    a = np.array([-1.0, 0.0, -0.0, 2.0])
    assert "relu" in fastpath._F_OUT and "relu" in fastpath._MUL_DF
    np.testing.assert_array_equal(times_derivative(relu, a, relu.f(a), np.full(4, 3.0)), [0.0, 0.0, 0.0, 3.0])


def test_user_activation_without_kernels_falls_back():
    square = SQUARE
    a = np.array([1.0, -2.0])
    out = np.zeros(2)
    z = activate(square, a, out)
    np.testing.assert_array_equal(z, [1.0, 4.0])
    assert z is not out  # no kernel: f(a) is a new array
    g = np.array([1.0, 1.0])
    assert times_derivative(square, a, z, g) is g
    np.testing.assert_array_equal(g, [2.0, -4.0])
    # a user-defined activation under a built-in name is not the built-in: its own f and df run
    fake_relu = Activation("relu", np.abs, lambda a, z: np.sign(a))
    out = np.zeros(2)
    assert activate(fake_relu, a, out) is not out
    np.testing.assert_array_equal(activate(fake_relu, a, out), [1.0, 2.0])
    np.testing.assert_array_equal(times_derivative(fake_relu, a, a, np.ones(2)), [1.0, -1.0])


# ------------------------------------------------ the Trainer and the reference
def _batches(output, dtype, K, seed=0):
    """Batches of 16, 1, 5, 37 and 3 samples, the odd ones with sample weights."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(37, 4)).astype(dtype)
    if output == "identity":
        Y = rng.normal(size=(37, K)).astype(dtype)
    else:
        Y = np.eye(K, dtype=dtype)[rng.integers(0, K, 37)]
    s = rng.uniform(0.5, 1.5, 37).astype(dtype)
    batches = []
    for n in [16, 1, 5, 37, 16, 3]:
        rows = rng.permutation(37)[:n]
        batches.append((X[rows], Y[rows], s[rows] if n % 2 else None))
    return batches


def _reference_run(net, opt, batches, l2):
    """The pure path: forward, loss, backward, update and apply_updates, on a copy of ``net``."""
    net = net.copy()
    state = opt.init(net.params)
    losses_ = []
    for X, Y, s in batches:
        cache = net._forward(X)
        losses_.append(net.cache_loss(cache, Y, l2, s))
        grads = net._backward(cache, Y, l2, s)
        updates, state = opt.update(grads, state, net.params)
        net.params = apply_updates(net.params, updates)
    return net, state, losses_


def _assert_trainer_is_the_reference(activation, output, opt_factory, dtype, K=5):
    net = Network([4, 6, 5, K], activation=activation, output=output, random_state=1, dtype=dtype)
    batches = _batches(output, dtype, K)
    ref_net, ref_state, ref_losses = _reference_run(net, opt_factory(), batches, 1e-3)
    trainer = Trainer(net, optimizer=opt_factory(), l2=1e-3)
    got_losses = [trainer.step(X, Y, s) for X, Y, s in batches]
    assert got_losses == ref_losses
    for got, want in zip(net.W + net.b, ref_net.W + ref_net.b, strict=True):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.dtype(dtype)
    got_state, want_state = optim.state_to_arrays(trainer.state), optim.state_to_arrays(ref_state)
    assert got_state.keys() == want_state.keys()
    for key in want_state:
        np.testing.assert_array_equal(got_state[key], want_state[key])
    return trainer


@pytest.mark.parametrize("name", NAMED)
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trainer_steps_are_the_pure_reference_bit_for_bit(activation, output, name, dtype):
    trainer = _assert_trainer_is_the_reference(activation, output, lambda: by_name(name, 0.02), dtype)
    workspace = trainer.workspace
    assert workspace is not None and workspace.is_bound(trainer.net)  # the in-place path ran


@pytest.mark.parametrize(
    "make",
    [
        lambda: chain(clip_by_global_norm(0.5), adam(0.01)),
        lambda: GradientTransformation(*by_name("momentum", 0.02)[:2]),
    ],
    ids=["chain", "user"],
)
@pytest.mark.parametrize("activation", ["relu", SQUARE])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fallbacks_and_user_activations_are_the_pure_reference_bit_for_bit(activation, make, dtype):
    _assert_trainer_is_the_reference(activation, "softmax", make, dtype)
    _assert_trainer_is_the_reference(activation, "identity", lambda: by_name("adam", 0.01), dtype, K=1)
