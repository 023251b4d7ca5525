import numpy as np
import pytest

from deltaprop import Network
from deltaprop.activations import ACTIVATIONS


def _data(n=7, d=3, K=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.eye(K)[rng.integers(0, K, n)]
    return X, Y


def test_shapes_follow_the_lecture():
    net = Network([5, 4, 3, 2], activation="tanh", random_state=0)
    assert net.D == 3
    assert net.sizes == [5, 4, 3, 2]
    assert [W.shape for W in net.W] == [(4, 5), (3, 4), (2, 3)]
    assert [b.shape for b in net.b] == [(4,), (3,), (2,)]
    cache = net.forward(np.zeros((6, 5)))
    assert len(cache.a) == 3 and len(cache.z) == 4
    assert [a.shape for a in cache.a] == [(6, 4), (6, 3), (6, 2)]
    assert [z.shape for z in cache.z] == [(6, 5), (6, 4), (6, 3), (6, 2)]


def test_forward_is_the_lecture_formula():
    X, _ = _data()
    net = Network([3, 4, 4], activation="sigmoid", random_state=1)
    cache = net.forward(X)
    a1 = np.array([net.W[0] @ x + net.b[0] for x in X])  # a^(1) = W^(1) x + b^(1) per column
    np.testing.assert_allclose(cache.a[0], a1)
    np.testing.assert_allclose(cache.z[1], 1 / (1 + np.exp(-a1)))
    a2 = cache.z[1] @ net.W[1].T + net.b[1]
    np.testing.assert_allclose(cache.z[2], np.exp(a2) / np.exp(a2).sum(axis=1, keepdims=True))
    assert cache.z[0] is not None and np.shares_memory(cache.z[0], X)  # z^(0) = X, not a copy


def test_backward_matches_per_sample_lecture_formulas():
    """Sum of the per-sample outer products delta z^T, over columns as on the slides."""
    X, Y = _data(n=5, d=3, K=2, seed=4)
    net = Network([3, 4, 2], activation="tanh", random_state=2)
    grads = net.backward(net.forward(X), Y, l2=0.3)
    W1, W2, b1, b2 = net.W[0], net.W[1], net.b[0], net.b[1]
    gW1, gW2 = np.zeros_like(W1), np.zeros_like(W2)
    gb1, gb2 = np.zeros_like(b1), np.zeros_like(b2)
    for x, y in zip(X, Y, strict=True):
        a1 = W1 @ x + b1
        z1 = np.tanh(a1)
        a2 = W2 @ z1 + b2
        f = np.exp(a2) / np.exp(a2).sum()
        d2 = f - y
        d1 = (1 - np.tanh(a1) ** 2) * (W2.T @ d2)
        gW2 += np.outer(d2, z1)
        gb2 += d2
        gW1 += np.outer(d1, x)
        gb1 += d1
    n = len(X)
    np.testing.assert_allclose(grads.W[1], gW2 / n + 0.3 * W2)
    np.testing.assert_allclose(grads.W[0], gW1 / n + 0.3 * W1)
    np.testing.assert_allclose(grads.b[1], gb2 / n)  # no penalty on the biases
    np.testing.assert_allclose(grads.b[0], gb1 / n)


def test_depth_one_is_multinomial_logistic_regression():
    X, Y = _data()
    net = Network([3, 4], output="softmax", random_state=0)
    grads = net.backward(net.forward(X), Y)
    p = net.predict(X)
    np.testing.assert_allclose(grads.W[0], (p - Y).T @ X / len(X))


def test_loss_includes_penalty_on_weights_only():
    X, Y = _data()
    net = Network([3, 5, 4], random_state=0)
    net.b = [b + 1.0 for b in net.b]
    base = net.loss(X, Y)
    penalty = 0.5 * 0.2 * sum((W**2).sum() for W in net.W)
    np.testing.assert_allclose(net.loss(X, Y, l2=0.2), base + penalty)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_end_to_end(dtype):
    X, Y = _data()
    net = Network([3, 5, 4], activation="gelu", random_state=0, dtype=dtype)
    assert all(W.dtype == dtype for W in net.W + net.b)
    cache = net.forward(X)  # X is float64: cast once to the network's dtype
    assert all(z.dtype == dtype for z in cache.z + cache.a)
    grads = net.backward(cache, Y, l2=0.1)
    assert all(g.dtype == dtype for g in grads.W + grads.b)


def test_per_layer_activations_and_user_defined():
    from deltaprop import Activation

    cube = Activation("cube", lambda a: a**3, lambda a, z: 3 * a**2)
    net = Network([2, 3, 3, 1], activation=["relu", cube], output="identity", random_state=0)
    assert [act.name for act in net.activations] == ["relu", "cube"]
    with pytest.raises(ValueError, match="2 hidden layers"):
        Network([2, 3, 3, 1], activation=["relu"], output="identity")


def test_inits_are_seeded_and_bounded():
    a = Network([10, 20, 3], init="glorot", random_state=3)
    b = Network([10, 20, 3], init="glorot", random_state=3)
    np.testing.assert_array_equal(a.W[0], b.W[0])
    assert np.abs(a.W[0]).max() <= np.sqrt(6 / 30)
    assert not a.b[0].any()
    s = Network([10, 20, 3], activation="sigmoid", init="sklearn", random_state=0)
    assert np.abs(s.W[0]).max() <= np.sqrt(2 / 30) and s.b[0].any()
    he = Network([400, 300, 3], init="he", random_state=0)
    np.testing.assert_allclose(he.W[0].std(), np.sqrt(2 / 400), rtol=0.02)


def test_from_weights_round_trip_and_checks():
    net = Network([3, 4, 2], random_state=0)
    clone = Network.from_weights(W=net.W, b=net.b, activation="relu", output="softmax")
    X, _ = _data(K=2)
    np.testing.assert_array_equal(clone.predict(X), net.predict(X))
    assert clone.W[0] is not net.W[0]
    with pytest.raises(ValueError, match=r"b\[1\]"):
        Network.from_weights(W=net.W, b=[net.b[0], np.zeros(3)])
    with pytest.raises(ValueError, match="columns"):
        Network.from_weights(W=[np.zeros((4, 3)), np.zeros((2, 5))], b=[np.zeros(4), np.zeros(2)])
    f32 = Network.from_weights(W=[w.astype(np.float32) for w in net.W], b=net.b)
    assert f32.dtype == np.float32


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.zeros((4, 2)), ValueError, "X has 2 columns but 3 were expected"),
        (np.zeros(3), ValueError, "2-D"),
        (np.zeros((0, 3)), ValueError, "empty"),
        (np.array([[1.0, np.nan, 0.0]]), ValueError, "NaN or infinity"),
        (np.array([[1.0, np.inf, 0.0]]), ValueError, "NaN or infinity"),
        (np.array([["a", "b", "c"]]), TypeError, "numeric"),
        (np.array([[object(), 1, 2]], dtype=object), TypeError, "numbers"),
    ],
)
def test_bad_X_is_named(X, error, match):
    net = Network([3, 2], random_state=0)
    with pytest.raises(error, match=match):
        net.predict(X)


def test_bad_Y_and_parameters_are_named():
    net = Network([3, 2], random_state=0)
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match="Y has 3 columns but 2"):
        net.loss(X, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="Y has 5 rows but X has 4"):
        net.loss(X, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="Y contains NaN"):
        net.loss(X, np.full((4, 2), np.nan))
    with pytest.raises(ValueError, match="'l2'"):
        net.loss(X, np.zeros((4, 2)), l2=-1.0)
    with pytest.raises(ValueError, match="'output'"):
        Network([3, 2], output="tanh")
    with pytest.raises(ValueError, match=r"'activation'.*Got 'softplus2'"):
        Network([3, 4, 2], activation="softplus2")
    with pytest.raises(ValueError, match="'dtype'"):
        Network([3, 2], dtype="int32")
    with pytest.raises(ValueError, match="'sizes'"):
        Network([3])
    with pytest.raises(ValueError, match="'sizes'"):
        Network([3, 0, 2])
    with pytest.raises(ValueError, match="'init'"):
        Network([3, 2], init="zeros")


def test_sample_weight_equals_repetition():
    X, Y = _data(n=4, K=3)
    net = Network([3, 4, 3], random_state=0, activation="tanh")
    weighted = net.backward(net.forward(X), Y, sample_weight=[1, 2, 1, 0])
    Xr, Yr = X[[0, 1, 1, 2]], Y[[0, 1, 1, 2]]
    repeated = net.backward(net.forward(Xr), Yr)
    for g, r in zip(weighted.W + weighted.b, repeated.W + repeated.b, strict=True):
        np.testing.assert_allclose(g, r)
    with pytest.raises(ValueError, match="non-negative"):
        net.backward(net.forward(X), Y, sample_weight=[1, -1, 1, 1])


def test_all_activations_run_forward():
    X, _ = _data()
    for name in ACTIVATIONS:
        assert np.isfinite(Network([3, 4, 4], activation=name, random_state=0).predict(X)).all()


def test_finite_check_survives_overflowing_sums():
    from deltaprop._checks import check_finite

    huge = np.full((4, 3), 1e308)  # finite entries whose sum overflows
    check_finite(huge, "X")
    huge[2, 1] = -np.inf
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at index \[2, 1\]\)"):
        check_finite(huge, "X")
    with pytest.raises(ValueError, match="NaN"):
        check_finite(np.array([[np.inf, -np.inf]]), "X")  # inf - inf: the sum is NaN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_finite_check_finds_a_bad_entry_in_any_layout_and_passes_huge_finite_ones(dtype, layout, bad):
    from deltaprop._checks import check_finite

    base = np.random.default_rng(0).normal(size=(50, 14)).astype(dtype)
    arr = {"C": base, "F": np.asfortranarray(base), "strided": base[::2, 1::3]}[layout]
    check_finite(arr, "X")
    huge = arr.copy(order="K")
    huge[3, 2] = np.finfo(dtype).max  # finite, though its square is not
    check_finite(huge, "X")
    arr[3, 2] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at index \[3, 2\]\)"):
        check_finite(arr, "X")


def test_a_batch_of_one_and_a_single_output_backpropagate_like_larger_ones():
    rng = np.random.default_rng(3)
    net = Network([4, 5, 1], activation="tanh", output="identity", random_state=0)
    X, Y = rng.normal(size=(6, 4)), rng.normal(size=(6, 1))
    one_by_one = [net.backward(net.forward(X[i : i + 1]), Y[i : i + 1]) for i in range(6)]
    together = net.backward(net.forward(X), Y)
    for h in range(net.D):  # the mean of per-sample gradients is the batch gradient
        np.testing.assert_allclose(np.mean([g.W[h] for g in one_by_one], axis=0), together.W[h], rtol=1e-12)
        np.testing.assert_allclose(np.mean([g.b[h] for g in one_by_one], axis=0), together.b[h], rtol=1e-12)
