"""The training loop's fast path computes the reference's numbers, bit for bit."""

import inspect
import itertools
from pathlib import Path

import numpy as np
import pytest

import deltaprop
from deltaprop import Network, activations, losses, network, optim
from deltaprop.activations import ACTIVATIONS, Activation
from deltaprop.losses import OUTPUTS, OutputLoss
from deltaprop.network import Params
from deltaprop.optim import (
    GradientTransformation,
    adam,
    adamw,
    apply_updates,
    by_name,
    chain,
    clip_by_global_norm,
    cosine_decay,
    gd,
    inverse_scaling,
    momentum,
    step_decay,
)
from deltaprop.train import Trainer
from deltaprop.train import _fastpath as fastpath
from deltaprop.train._fastpath import (
    Workspace,
    activate,
    backward,
    forward,
    forward_loss,
    in_place_update,
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


# ---------------------------------------------------------------- optimisers
IN_PLACE = {
    "gd": lambda: gd(step_decay(0.1, 2, 0.5)),
    "momentum": lambda: momentum(0.1, beta=0.8),
    "nesterov": lambda: momentum(cosine_decay(0.1, 5), beta=0.9, nesterov=True),
    "sgd": lambda: by_name("sgd", 0.05),
    "adam": lambda: adam(0.01, b1=0.8, b2=0.99),
    "adamw": lambda: adamw(inverse_scaling(0.01), weight_decay=0.1),
}
SIZES = [3, 4, 2]


def _params(seed=0, dtype=np.float64):
    """Random Params of a [3, 4, 2] network: W^(1) (4, 3), W^(2) (2, 4), b^(1) (4,), b^(2) (2,)."""
    rng = np.random.default_rng(seed)
    W = [rng.normal(size=(m, n)) for n, m in itertools.pairwise(SIZES)]
    b = [rng.normal(size=m) for m in SIZES[1:]]
    return Params([w.astype(dtype) for w in W], [v.astype(dtype) for v in b])


def _leaves(tree):
    return [*tree.W, *tree.b]


def _assert_params_equal(got, want):
    for x, y in zip(_leaves(got), _leaves(want), strict=True):
        np.testing.assert_array_equal(x, y)


def _flat(tree):
    """All weights as one vector and all biases as another: the layout the Trainer uses."""
    return Params([np.concatenate([w.ravel() for w in tree.W])], [np.concatenate(tree.b)])


def _fortran(tree):
    """Parameters stored column-major: not C-contiguous, so updated as whole arrays."""
    return Params([np.asfortranarray(w) for w in tree.W], [v.copy() for v in tree.b])


def _in_place(opt):
    apply_in_place = in_place_update(opt)
    assert apply_in_place is not None
    return apply_in_place


@pytest.mark.parametrize("name", list(IN_PLACE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", [lambda tree: tree, _flat])
def test_in_place_update_is_update_then_apply_bit_for_bit(name, dtype, layout):
    opt = IN_PLACE[name]()
    apply_in_place = _in_place(opt)
    pure_params = _params(0, dtype=dtype)
    pure_state = opt.init(pure_params)
    params = layout(_params(0, dtype=dtype))
    state = opt.init(params)
    for seed in range(1, 6):
        grads = _params(seed, dtype=dtype)
        updates, pure_state = opt.update(grads, pure_state, pure_params)
        pure_params = apply_updates(pure_params, updates)
        state = apply_in_place(layout(grads), state, params)
        assert state.step == pure_state.step == seed
    _assert_params_equal(params, layout(pure_params))
    for got, want in zip(state[1:], pure_state[1:], strict=True):  # velocity, or m and v
        _assert_params_equal(got, layout(want))
    assert all(leaf.dtype == dtype for leaf in _leaves(params))


@pytest.mark.parametrize("name", list(IN_PLACE))
@pytest.mark.parametrize("layout", [_flat, _fortran])
def test_in_place_update_block_by_block_is_the_same_step(name, layout, monkeypatch):
    # Blocks of 5 elements: the 20 weights and 6 biases span several blocks, the last partial.
    monkeypatch.setattr(fastpath, "BLOCK", 5)
    opt = IN_PLACE[name]()
    apply_in_place = _in_place(opt)
    pure_params = _params(0)
    pure_state = opt.init(pure_params)
    params = layout(_params(0))
    state = opt.init(params)
    for seed in range(1, 4):
        updates, pure_state = opt.update(_params(seed), pure_state, pure_params)
        pure_params = apply_updates(pure_params, updates)
        state = apply_in_place(layout(_params(seed)), state, params)
    _assert_params_equal(params, layout(pure_params))
    for got, want in zip(state[1:], pure_state[1:], strict=True):
        _assert_params_equal(got, layout(want))


def test_blocks_are_aligned_views_covering_every_element(monkeypatch):
    monkeypatch.setattr(fastpath, "BLOCK", 4)
    a, b = np.arange(10.0), np.arange(10.0, 20.0)
    blocks = list(fastpath._blocks(a, b))
    assert [x.size for x, _ in blocks] == [4, 4, 2]
    assert all(np.shares_memory(x, a) and np.shares_memory(y, b) for x, y in blocks)
    np.testing.assert_array_equal(np.concatenate([y - x for x, y in blocks]), np.full(10, 10.0))
    strided = np.zeros((3, 4))[:, ::2]
    assert [x is strided for x, _ in fastpath._blocks(strided, strided)] == [True]  # whole, one block


def test_in_place_update_writes_into_the_given_arrays():
    opt = momentum(0.1)
    params = _params(0)
    state = opt.init(params)
    W, velocity = params.W[0], state.velocity.W[0]
    new_state = _in_place(opt)(_params(1), state, params)
    assert new_state.velocity.W[0] is velocity and params.W[0] is W
    np.testing.assert_array_equal(velocity, -0.1 * _params(1).W[0])


def test_clip_chain_and_user_transformations_have_no_in_place_step():
    assert clip_by_global_norm(1.0).spec is None and in_place_update(clip_by_global_norm(1.0)) is None
    assert chain(gd(0.1)).spec is None and in_place_update(chain(gd(0.1))) is None
    own = GradientTransformation(gd(0.1).init, gd(0.1).update)
    assert own.spec is None and in_place_update(own) is None
    unknown = own._replace(spec=("rmsprop", {"learning_rate": 0.1}))  # a name the fast path lacks
    assert in_place_update(unknown) is None
    assert set(fastpath._IN_PLACE) == {"gd", "momentum", "adam", "adamw"}
    # a function in the third field (the in-place step it once was) is named as the culprit
    with pytest.raises(TypeError, match="spec must be None or"):
        Trainer(Network([2, 2], random_state=0), optimizer=own._replace(spec=lambda g, s, p: s)).step(
            np.ones((1, 2)), np.eye(2)[:1]
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda: chain(clip_by_global_norm(0.5), adam(0.01)),
        lambda: clip_by_global_norm(0.5),
        lambda: GradientTransformation(*by_name("adam", 0.01)[:2]),
    ],
    ids=["chain", "clip", "user"],
)
def test_transformations_without_spec_fall_back_to_update(make):
    X, Y = _batches("identity", np.float64, 3)[0][:2]
    net = Network([4, 6, 5, 3], activation="tanh", output="identity", random_state=1)
    trainer = Trainer(net, optimizer=make())
    trainer.step(X, Y)
    assert trainer.workspace is not None and trainer.workspace.flat_params is None  # nothing bound
    assert not np.shares_memory(net.W[0], trainer.workspace.flat_grads.W[0])


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


# ------------------------------------------- the reference keeps none of it
def test_the_core_modules_hold_no_in_place_machinery():
    assert Activation._fields == ("name", "f", "df")
    assert OutputLoss._fields == ("name", "loss_name", "f", "per_sample")
    assert GradientTransformation._fields == ("init", "update", "spec")
    assert list(inspect.signature(Network._forward).parameters) == ["self", "X"]
    assert list(inspect.signature(Network._backward).parameters) == [
        "self",
        "cache",
        "Y",
        "l2",
        "sample_weight",
    ]
    moved = {
        network: ["_matmul", "_Buffers", "_unbuffered"],
        activations: ["activate", "times_derivative", "_relu_out", "_relu_mul_df", "_tanh_out"],
        losses: ["_row_max", "_row_sum", "_ONES", "_softmax_and_cross_entropy"],
        optim: ["BLOCK", "_blocks", "_adam_in_place"],
        optim._base: ["BLOCK", "_blocks", "_leaves"],
        optim._transforms: ["BLOCK", "_blocks", "_adam_in_place"],
    }
    for module, names in moved.items():
        assert [name for name in names if hasattr(module, name)] == [], module.__name__
    assert not hasattr(Network, "_forward_loss")
    with pytest.raises(ImportError):
        __import__("deltaprop.train._workspace")
    # no buffers written through out= anywhere in the reference
    package = Path(deltaprop.__file__).parent
    sources = [
        "network.py",
        "activations.py",
        "losses.py",
        *(f"optim/{p.name}" for p in (package / "optim").glob("*.py")),
    ]
    assert [name for name in sources if "out=" in (package / name).read_text()] == []
