import numpy as np
import pytest

from deltaprop import Network
from deltaprop.activations import ACTIVATIONS, Activation
from deltaprop.lab import hessian, hvp, second_derivative, sharpness
from deltaprop.losses import OUTPUTS
from deltaprop.network import Params


def _targets(output, rng, n, K):
    if output == "softmax":
        return np.eye(K)[rng.integers(0, K, n)]
    if output == "sigmoid":
        return rng.integers(0, 2, (n, K)).astype(float)
    return rng.normal(size=(n, K))


def _flat(params):
    return np.concatenate([part for W, b in zip(*params, strict=True) for part in (W.ravel(), b)])


def _direction(net, rng):
    V = Params([rng.normal(size=W.shape) for W in net.W], [rng.normal(size=b.shape) for b in net.b])
    norm = np.linalg.norm(_flat(V))
    return Params([W / norm for W in V.W], [b / norm for b in V.b])


def _moved(net, V, t):
    moved = net.copy()
    moved.W = [W + t * VW for W, VW in zip(net.W, V.W, strict=True)]
    moved.b = [b + t * Vb for b, Vb in zip(net.b, V.b, strict=True)]
    return moved


def _gradient_differences(net, X, Y, V, l2, sample_weight=None, eps=1e-4):
    """d/dt grad L(theta + t V) at t = 0, by the fourth-order central difference."""

    def grad(t):
        moved = _moved(net, V, t)
        return _flat(moved.backward(moved.forward(X), Y, l2=l2, sample_weight=sample_weight))

    return (8 * (grad(eps) - grad(-eps)) - (grad(2 * eps) - grad(-2 * eps))) / (12 * eps)


def _rel_error(a, b):
    return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))


# --------------------------------------------------------------- second derivatives
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_second_derivative_is_the_derivative_of_sigma_prime(name):
    act = ACTIVATIONS[name]
    a = np.linspace(-3, 3, 61) + 0.013  # off the kink of ReLU and leaky ReLU
    eps = 1e-5
    numerical = (act.df(a + eps, act.f(a + eps)) - act.df(a - eps, act.f(a - eps))) / (2 * eps)
    np.testing.assert_allclose(second_derivative(act)(a, act.f(a)), numerical, atol=1e-9)


def test_relu_second_derivative_is_zero():
    a = np.array([-1.0, 0.0, 2.0])
    assert second_derivative(ACTIVATIONS["relu"])(a, a).tolist() == [0.0, 0.0, 0.0]


def test_user_defined_activation_is_refused_with_a_clear_error():
    square = Activation("square", lambda a: a * a, lambda a, z: 2 * a)
    net = Network([2, 3, 1], activation=square, output="identity", random_state=0)
    X, Y = np.ones((2, 2)), np.ones((2, 1))
    with pytest.raises(ValueError, match=r"second derivative.*'square' is a user-defined activation"):
        hvp(net, X, Y, net.params)


# --------------------------------------------------------------------------- HVP
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_hvp_equals_differences_of_gradients(activation, output, depth):
    rng = np.random.default_rng(depth)
    sizes = [3, *rng.integers(2, 5, depth - 1).tolist(), 3]
    net = Network(sizes, activation=activation, output=output, init="sklearn", random_state=depth)
    X = rng.normal(size=(6, 3))
    if depth > 1 and activation in ("relu", "leaky_relu"):
        # Differences across the kink are meaningless: keep every hidden a^(h) away from 0.
        while min(np.abs(a).min() for a in net.forward(X).a[:-1]) < 0.05:
            X = rng.normal(size=(6, 3))
    Y = _targets(output, rng, 6, 3)
    V = _direction(net, rng)
    HV = hvp(net, X, Y, V, l2=0.05)
    assert [b.shape for b in HV.W] == [W.shape for W in net.W]
    assert _rel_error(_flat(HV), _gradient_differences(net, X, Y, V, l2=0.05)) < 1e-6


def test_hvp_with_sample_weights():
    rng = np.random.default_rng(0)
    net = Network([3, 4, 2], activation="tanh", output="softmax", random_state=0)
    X, Y = rng.normal(size=(5, 3)), _targets("softmax", rng, 5, 2)
    s = np.array([1.0, 0.0, 2.0, 0.5, 1.0])
    V = _direction(net, rng)
    HV = _flat(hvp(net, X, Y, V, sample_weight=s))
    assert _rel_error(HV, _gradient_differences(net, X, Y, V, 0.0, sample_weight=s)) < 1e-6


def test_hessian_column_by_column_matches_differences_and_is_symmetric():
    rng = np.random.default_rng(3)
    net = Network([3, 4, 2], activation="sigmoid", output="softmax", init="sklearn", random_state=3)
    X, Y = rng.normal(size=(8, 3)), _targets("softmax", rng, 8, 2)
    H = hessian(net, X, Y, l2=0.1)
    P = 4 * 3 + 4 + 2 * 4 + 2
    assert H.shape == (P, P)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    numerical = np.empty((P, P))
    for j in range(P):
        e = np.zeros(P)
        e[j] = 1.0
        start, W, b = 0, [], []
        for Wh, bh in zip(net.W, net.b, strict=True):
            W.append(e[start : start + Wh.size].reshape(Wh.shape))
            b.append(e[start + Wh.size : start + Wh.size + bh.size])
            start += Wh.size + bh.size
        numerical[:, j] = _gradient_differences(net, X, Y, Params(W, b), l2=0.1)
    assert _rel_error(H, numerical) < 1e-8
    # and a product with H is hvp's
    V = _direction(net, rng)
    np.testing.assert_allclose(H @ _flat(V), _flat(hvp(net, X, Y, V, l2=0.1)), atol=1e-13)


def test_hvp_is_linear_in_the_direction_and_adds_lambda_on_weights_only():
    rng = np.random.default_rng(1)
    net = Network([2, 3, 2], activation="gelu", output="sigmoid", random_state=1)
    X, Y = rng.normal(size=(4, 2)), _targets("sigmoid", rng, 4, 2)
    U, V = _direction(net, rng), _direction(net, rng)
    both = Params(
        [2 * u + v for u, v in zip(U.W, V.W, strict=True)], [2 * u + v for u, v in zip(U.b, V.b, strict=True)]
    )
    np.testing.assert_allclose(
        _flat(hvp(net, X, Y, both)), 2 * _flat(hvp(net, X, Y, U)) + _flat(hvp(net, X, Y, V)), atol=1e-14
    )
    with_l2, without = hvp(net, X, Y, V, l2=0.3), hvp(net, X, Y, V)
    for h in range(2):
        np.testing.assert_allclose(with_l2.W[h] - without.W[h], 0.3 * V.W[h], atol=1e-14)
        np.testing.assert_allclose(with_l2.b[h], without.b[h], atol=1e-14)


@pytest.mark.parametrize(
    ("V", "message"),
    [
        ("direction", "must be a pair"),
        (([np.zeros((3, 2))], [np.zeros(3)]), "one of each per layer"),
        (([np.zeros((2, 3)), np.zeros((1, 3))], [np.zeros(3), np.zeros(1)]), r"V.W\[0\] has shape \(2, 3\)"),
    ],
)
def test_hvp_names_a_wrong_direction(V, message):
    net = Network([2, 3, 1], activation="tanh", output="identity", random_state=0)
    with pytest.raises((TypeError, ValueError), match=message):
        hvp(net, np.ones((2, 2)), np.ones((2, 1)), V)


def test_hessian_refuses_a_large_network():
    net = Network([64, 100, 10], activation="tanh", random_state=0)
    with pytest.raises(ValueError, match="at most 5000 parameters; use sharpness"):
        hessian(net, np.zeros((2, 64)), np.eye(10)[[0, 1]])


# --------------------------------------------------------------------- sharpness
@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus"])
def test_sharpness_is_the_top_of_eigvalsh_and_power_agrees(activation):
    rng = np.random.default_rng(0)
    net = Network([4, 6, 3], activation=activation, output="softmax", random_state=0)
    X, Y = rng.normal(size=(30, 4)), _targets("softmax", rng, 30, 3)
    top = np.linalg.eigvalsh(hessian(net, X, Y, l2=0.01))[::-1][:3]
    lanczos = sharpness(net, X, Y, l2=0.01, k=3, random_state=0, tol=1e-10)
    power = sharpness(net, X, Y, l2=0.01, k=3, random_state=0, method="power", tol=1e-10, maxiter=20000)
    np.testing.assert_allclose(lanczos, top, rtol=1e-8)
    np.testing.assert_allclose(power, top, rtol=1e-6)
    assert sharpness(net, X, Y, l2=0.01, random_state=1).shape == (1,)


def test_power_iteration_finds_the_largest_algebraic_not_the_largest_magnitude():
    # Large weights and targets: the most negative eigenvalue dominates in magnitude.
    rng = np.random.default_rng(1)
    net = Network([2, 3, 1], activation="tanh", output="identity", random_state=1)
    net.W = [3 * W for W in net.W]
    X, Y = rng.normal(size=(10, 2)), 20 * rng.normal(size=(10, 1))
    eigenvalues = np.linalg.eigvalsh(hessian(net, X, Y))
    assert -eigenvalues[0] > eigenvalues[-1] > 0
    power = sharpness(net, X, Y, method="power", random_state=0, tol=1e-10, maxiter=50000)
    np.testing.assert_allclose(power[0], eigenvalues[-1], rtol=1e-6)


def test_sharpness_on_a_fixed_subsample():
    rng = np.random.default_rng(0)
    net = Network([4, 5, 3], activation="tanh", output="softmax", random_state=0)
    X, Y = rng.normal(size=(40, 4)), _targets("softmax", rng, 40, 3)
    rows = np.sort(np.random.default_rng(7).choice(40, size=15, replace=False))
    expected = np.linalg.eigvalsh(hessian(net, X[rows], Y[rows]))[-1]
    once = sharpness(net, X, Y, subsample=15, random_state=7, tol=1e-10)
    np.testing.assert_allclose(once, expected, rtol=1e-8)
    np.testing.assert_array_equal(once, sharpness(net, X, Y, subsample=15, random_state=7, tol=1e-10))


def test_sharpness_names_a_bad_method():
    net = Network([2, 1], output="identity", random_state=0)
    with pytest.raises(ValueError, match=r"'method' parameter must be one of \['lanczos', 'power'\]"):
        sharpness(net, np.ones((3, 2)), np.ones((3, 1)), method="arnoldi")
