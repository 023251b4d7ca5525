import numpy as np
import pytest

from deltaprop import Network
from deltaprop.activations import ACTIVATIONS, Activation
from deltaprop.lab import edge_of_stability, hessian, hvp, lr_range_test, second_derivative, sharpness
from deltaprop.losses import OUTPUTS
from deltaprop.network import Params
from deltaprop.train import gradient_descent


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


# ------------------------------------------------------------- stability of GD
def _linear_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) * [1.0, 2.0, 0.5] + 1.0
    Y = X @ rng.normal(size=(3, 2)) + 0.1 * rng.normal(size=(50, 2))
    return Network([3, 2], output="identity", random_state=0), X, Y


def test_linear_regression_hessian_is_the_normal_matrix():
    net, X, Y = _linear_regression()
    Xb = np.column_stack([X, np.ones(len(X))])
    lam = np.linalg.eigvalsh(Xb.T @ Xb / len(X))[-1]
    np.testing.assert_allclose(sharpness(net, X, Y, random_state=0, tol=1e-10), [lam], rtol=1e-10)


def test_gd_on_a_quadratic_converges_below_two_over_sharpness_and_diverges_above():
    net, X, Y = _linear_regression()
    lam = sharpness(net, X, Y, random_state=0, tol=1e-10)[0]
    Xb = np.column_stack([X, np.ones(len(X))])
    coef = np.linalg.lstsq(Xb, Y, rcond=None)[0]
    best = 0.5 * np.mean(np.sum((Xb @ coef - Y) ** 2, axis=1))

    below = net.copy()
    losses = gradient_descent(below, X, Y, lr=0.95 * 2 / lam, steps=3000)
    assert below.loss(X, Y) == pytest.approx(best, rel=1e-9)
    assert losses[-1] < losses[0]

    above = net.copy()
    losses = gradient_descent(above, X, Y, lr=1.05 * 2 / lam, steps=300)
    assert losses[-1] > 1e3 * losses[0]  # the error grows by |1 - eta lambda_max| = 1.1 a step
    with pytest.raises(FloatingPointError, match="training diverged"):  # DivergenceError
        gradient_descent(above, X, Y, lr=1.05 * 2 / lam, steps=6000)

    result = edge_of_stability(net, X, Y, lrs=[0.95 * 2 / lam, 1.05 * 2 / lam], steps=6000, every=2000)
    converged, diverged = result.runs
    assert converged.diverged_at is None and converged.losses[-1] == pytest.approx(best, rel=1e-9)
    assert diverged.diverged_at is not None and np.isnan(diverged.losses[-1])
    np.testing.assert_allclose(converged.sharpness, lam, rtol=1e-5)  # constant: the loss is quadratic


def _digits(n):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X[:n] / 16.0
    return X - X.mean(axis=0), np.eye(10)[y[:n]]


def test_edge_of_stability_small():
    # Cohen et al. (2021) on 200 digits and a 64-32-32-10 tanh net with squared error.
    X, Y = _digits(200)
    net = Network([64, 32, 32, 10], activation="tanh", output="identity", random_state=0)
    result = edge_of_stability(net, X, Y, lrs=[0.3, 0.05], steps=1500, every=25, random_state=0, tol=1e-4)
    edge, small = result.runs
    # At eta = 0.3 the sharpness starts below 2/eta, rises to it, and then hovers there ...
    assert edge.threshold == pytest.approx(2 / 0.3)
    assert edge.sharpness[0] < edge.threshold
    assert edge.reached_step is not None and edge.reached_step > 0
    assert 0.95 <= edge.median_ratio <= 1.10
    # ... while the loss keeps falling over the long run, with short-term rises.
    after = edge.losses[edge.reached_step :]
    assert after[-100:].mean() < 0.8 * after[:100].mean()
    assert np.count_nonzero(np.diff(after) > 0) > 10
    # At eta = 0.05 the sharpness rises steadily from its minimum (progressive sharpening),
    # far below 2/eta = 40, and the loss falls at every step.
    low = int(np.argmin(small.sharpness))
    assert np.all(np.diff(small.sharpness[low:]) > 0)
    assert small.sharpness[-1] > 1.05 * small.sharpness[low]
    assert small.reached_step is None and small.loss_rises == 0
    assert "reached 2/eta at" in str(result)
    assert result.run(0.05) is small


def test_edge_of_stability_figure_shows_loss_sharpness_and_the_two_over_eta_lines():
    from matplotlib.figure import Figure

    from deltaprop.plots import plot_edge_of_stability

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    net = Network([2, 4, 1], activation="tanh", output="identity", random_state=0)
    result = edge_of_stability(net, X, np.sin(X[:, :1]), lrs=[0.7, 0.1], steps=20, every=5)
    fig = plot_edge_of_stability(result)
    loss_ax, sharp_ax = fig.axes
    assert loss_ax.get_yscale() == "log"
    assert len(loss_ax.get_lines()) == 2
    np.testing.assert_array_equal(loss_ax.get_lines()[1].get_ydata(), result.runs[1].losses)
    dashed = [line for line in sharp_ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_ydata()[0] for line in dashed] == pytest.approx([2 / 0.7, 20.0])
    # 2/eta = 2.86 is on the scale; 20, far above every sharpness, is named instead.
    assert 2 / 0.7 < sharp_ax.get_ylim()[1] < 20.0
    assert [text.get_text() for text in sharp_ax.texts] == [r"$2/\eta$ = 20 (off the scale)"]
    # into a subplot of one's own figure: its slot is split in two
    outer = Figure()
    _, right = outer.subplots(1, 2)
    assert plot_edge_of_stability(result, ax=right) is outer
    assert len(outer.axes) == 3
    with pytest.raises(TypeError, match=r"what deltaprop\.lab\.edge_of_stability returns"):
        plot_edge_of_stability(result.runs)


# ------------------------------------------------------- learning-rate range test
def _convex(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(512, 5)) * [1.0, 2.0, 0.5, 1.0, 3.0] + 0.5
    Y = X @ rng.normal(size=(5, 2)) + 0.3 * rng.normal(size=(512, 2))
    return Network([5, 2], output="identity", random_state=seed), X, Y


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize(("mode", "lr_max"), [("exponential", 10.0), ("linear", 1.0)])
def test_range_test_suggests_rates_below_two_over_sharpness_on_a_convex_problem(seed, mode, lr_max):
    # Linear regression: a quadratic loss, GD stable exactly below 2 / lambda_max.
    net, X, Y = _convex(seed)
    threshold = 2 / sharpness(net, X, Y, random_state=0)[0]
    result = lr_range_test(net, X, Y, lr_min=1e-4, lr_max=lr_max, epochs=8, mode=mode, random_state=0)
    assert result.lr[0] < result.base_lr < result.max_lr < threshold
    # the loss turns up where the quadratic stops being stable, and then the run is stopped
    turn = result.lr[np.argmin(result.smoothed)]
    assert 0.5 * threshold < turn < 2 * threshold
    assert result.stopped_early and result.lr[-1] < lr_max


def test_range_test_ramps_the_rate_and_leaves_the_network_alone():
    net, X, Y = _convex(1)
    before = [W.copy() for W in net.W]
    result = lr_range_test(net, X, Y, lr_min=1e-4, lr_max=1e-2, epochs=2, batch_size=64, random_state=0)
    assert not result.stopped_early and result.lr.shape == result.loss.shape == (16,)
    np.testing.assert_allclose(result.lr, np.geomspace(1e-4, 1e-2, 16), rtol=1e-12)
    linear = lr_range_test(net, X, Y, lr_min=1e-4, lr_max=1e-2, epochs=2, batch_size=64, mode="linear")
    np.testing.assert_allclose(linear.lr, np.linspace(1e-4, 1e-2, 16), rtol=1e-12)
    for W, saved in zip(net.W, before, strict=True):
        np.testing.assert_array_equal(W, saved)
    again = lr_range_test(net, X, Y, lr_min=1e-4, lr_max=1e-2, epochs=2, batch_size=64, random_state=0)
    np.testing.assert_array_equal(again.loss, result.loss)


def test_range_test_on_a_classifier_and_its_range_in_a_cyclical_schedule():
    from deltaprop.schedules import triangular
    from deltaprop.train import Trainer

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(3, 2))
    y = rng.integers(0, 3, 300)
    X, Y = centres[y] + rng.normal(size=(300, 2)), np.eye(3)[y]
    net = Network([2, 16, 3], activation="tanh", output="softmax", random_state=0)
    result = lr_range_test(net, X, Y, lr_min=1e-3, lr_max=100.0, epochs=10, random_state=0)
    assert result.base_lr < result.max_lr
    early = result.score[result.lr < result.base_lr].mean()
    inside = result.score[(result.lr > result.max_lr / 2) & (result.lr <= result.max_lr)].mean()
    assert inside > early + 0.3  # the accuracy has risen inside the suggested range
    assert "suggested range (Smith): base_lr" in str(result)
    trained = net.copy()
    trainer = Trainer(trained, learning_rate=triangular(result.base_lr, result.max_lr, step_size=50))
    for t in range(200):
        rows = np.arange(t * 30, t * 30 + 30) % 300
        trainer.step(X[rows], Y[rows])
    assert trained.loss(X, Y) < 0.5 * net.loss(X, Y)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lr_min": 1.0, "lr_max": 0.5}, "'lr_max' parameter must be > lr_min"),
        ({"mode": "cosine"}, r"'mode' parameter must be one of \['exponential', 'linear'\]"),
        ({"stop_factor": 1.0}, "'stop_factor' parameter must be > 1"),
        ({"epochs": 0}, "'epochs' parameter must be >= 1"),
    ],
)
def test_range_test_names_a_bad_parameter(options, message):
    net, X, Y = _convex(0)
    with pytest.raises(ValueError, match=message):
        lr_range_test(net, X, Y, **options)


def test_range_test_figure():
    from deltaprop.plots import plot_lr_range_test

    net, X, Y = _convex(0)
    result = lr_range_test(net, X, Y, lr_min=1e-4, epochs=4, random_state=0)
    loss_ax, score_ax = plot_lr_range_test(result).axes
    assert loss_ax.get_xscale() == "log"
    np.testing.assert_array_equal(loss_ax.get_lines()[1].get_ydata(), result.smoothed)
    (span,) = loss_ax.patches
    assert span.get_label() == f"suggested [{result.base_lr:.3g}, {result.max_lr:.3g}]"
    assert score_ax.get_ylim()[1] == pytest.approx(1.05)


# -------------------------------------------------- the estimators' range test
def test_estimator_range_test_uses_its_network_and_solver_and_fits_nothing():
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    from deltaprop.estimators import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(3, 2))
    y = rng.integers(0, 3, 300)
    X = centres[y] + rng.normal(size=(300, 2))
    clf = MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", momentum=0.0, batch_size=30, random_state=0)
    result = clf.lr_range_test(X, y, lr_min=1e-3, lr_max=100.0, epochs=10)
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "classes_")
    assert result.lr.shape[0] <= 100  # 10 epochs of 10 batches, fewer once it blew up
    assert result.base_lr < result.max_lr
    # momentum 0 is plain gd: the same as the lab's test on the network fit would draw
    scores = {}
    for lr in (result.base_lr, result.max_lr):
        with pytest.warns(ConvergenceWarning):
            scores[lr] = clone(clf).set_params(learning_rate_init=lr, max_iter=20).fit(X, y).score(X, y)
    assert scores[result.max_lr] > scores[result.base_lr]  # the top of the range trains faster
    adam = clone(clf).set_params(solver="adam").lr_range_test(X, y, lr_min=1e-5, lr_max=1.0, epochs=10)
    assert adam.base_lr < adam.max_lr < 1.0
    # the regressor, full-batch gd: 100 updates by default, suggestion below 2 / lambda_max
    net, Xr, Yr = _convex(0)
    reg = MLPRegressor(hidden_layer_sizes=(), solver="gd", alpha=0.0, random_state=0)
    full = reg.lr_range_test(Xr, Yr, lr_min=1e-4, lr_max=10.0)
    assert full.lr.shape[0] <= 100
    assert full.max_lr < 2 / sharpness(net, Xr, Yr, random_state=0)[0]
    with pytest.raises(ValueError, match="solver='lbfgs' has none"):
        MLPRegressor(solver="lbfgs").lr_range_test(Xr, Yr)


# ------------------------------------------------------------ loss landscapes
def _trained_regression(seed=0, steps=200):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 2))
    Y = np.sin(X[:, :1]) * X[:, 1:]
    net = Network([2, 8, 1], activation="tanh", output="identity", random_state=seed)
    gradient_descent(net, X, Y, lr=0.3, steps=steps)
    return net, X, Y


@pytest.mark.parametrize("biases", [False, True])
def test_random_direction_is_filter_normalised(biases):
    from deltaprop.lab import random_direction

    net = Network([4, 6, 5, 3], activation="relu", random_state=0)
    net.b = [np.random.default_rng(h).normal(size=b.shape) for h, b in enumerate(net.b)]
    d = random_direction(net, random_state=1, biases=biases)
    for W, b, dW, db in zip(net.W, net.b, d.W, d.b, strict=True):
        if biases:
            np.testing.assert_allclose(
                np.linalg.norm(np.column_stack([dW, db]), axis=1),
                np.linalg.norm(np.column_stack([W, b]), axis=1),
            )
        else:
            np.testing.assert_allclose(np.linalg.norm(dW, axis=1), np.linalg.norm(W, axis=1))
            assert not db.any()
        # a direction, not the weights: not parallel to them
        assert abs(np.vdot(dW, W)) < 0.9 * np.linalg.norm(dW) * np.linalg.norm(W)
    again = random_direction(net, random_state=1, biases=biases)
    np.testing.assert_array_equal(again.W[0], d.W[0])
    # rescaling a unit's incoming weights rescales its row of the direction alike
    scaled = net.copy()
    scaled.W[0] = scaled.W[0] * np.array([[10.0], [1.0], [1.0], [1.0], [1.0], [0.1]])
    if not biases:
        d_scaled = random_direction(scaled, random_state=1)
        np.testing.assert_allclose(d_scaled.W[0][0], 10 * d.W[0][0])
        np.testing.assert_allclose(d_scaled.W[0][5], 0.1 * d.W[0][5])


def test_slices_at_zero_are_the_loss_at_the_trained_point():
    from deltaprop.lab import loss_slice, loss_surface

    net, X, Y = _trained_regression()
    alphas = np.linspace(-1, 1, 21)  # holds 0 exactly at index 10
    line = loss_slice(net, X, Y, alphas=alphas, l2=0.01, random_state=0)
    assert line.losses[10] == pytest.approx(net.loss(X, Y, l2=0.01), rel=1e-14)
    assert line.losses.min() == pytest.approx(line.losses[10], rel=0.05)  # a trained point: near the bottom
    surface = loss_surface(net, X, Y, alphas=alphas, betas=alphas[::2], random_state=0)
    assert surface.losses.shape == (11, 21)
    assert surface.losses[5, 10] == pytest.approx(net.loss(X, Y), rel=1e-14)
    # the same directions give the same slice: beta = 0 is the line along d1
    along = loss_slice(net, X, Y, direction=surface.directions[0], alphas=alphas)
    np.testing.assert_allclose(surface.losses[5], along.losses, rtol=1e-13)


def test_a_quadratics_slice_is_the_parabola_of_its_curvature():
    from deltaprop.lab import loss_slice, random_direction

    net, X, Y = _convex(2)
    gradient_descent(net, X, Y, lr=0.05, steps=50)
    d = random_direction(net, random_state=0, biases=True)
    alphas = np.linspace(-2, 2, 9)
    line = loss_slice(net, X, Y, direction=d, alphas=alphas, l2=0.1)
    # L(theta + a d) = L + a g.d + a^2/2 d^T H d, exactly, for linear regression
    g = _flat(net.backward(net.forward(X), Y, l2=0.1))
    curvature = _flat(d) @ _flat(hvp(net, X, Y, d, l2=0.1))
    L0 = net.loss(X, Y, l2=0.1)
    np.testing.assert_allclose(
        line.losses, L0 + alphas * (g @ _flat(d)) + 0.5 * alphas**2 * curvature, rtol=1e-10
    )


def test_interpolation_between_two_solutions():
    from deltaprop.lab import interpolate

    net_a, X, Y = _trained_regression(0)
    net_b = Network([2, 8, 1], activation="tanh", output="identity", random_state=5)
    gradient_descent(net_b, X, Y, lr=0.3, steps=200)
    line = interpolate(net_a, net_b, X, Y, alphas=np.linspace(-0.5, 1.5, 9))
    assert line.kind == "interpolation"
    assert line.losses[2] == pytest.approx(net_a.loss(X, Y)) and line.losses[6] == pytest.approx(
        net_b.loss(X, Y)
    )
    middle = line.alphas == 0.5
    mixed = net_a.copy()
    mixed.W = [(W_a + W_b) / 2 for W_a, W_b in zip(net_a.W, net_b.W, strict=True)]
    mixed.b = [(b_a + b_b) / 2 for b_a, b_b in zip(net_a.b, net_b.b, strict=True)]
    assert line.losses[middle][0] == pytest.approx(mixed.loss(X, Y))
    with pytest.raises(ValueError, match="same architecture"):
        interpolate(net_a, Network([2, 4, 1], output="identity"), X, Y)


def test_pca_projection_of_a_trajectory_in_a_plane_is_exact():
    from deltaprop.lab import project_trajectory

    net, X, Y = _trained_regression()
    rng = np.random.default_rng(0)
    P = _flat(net.params).size
    u, v = np.linalg.qr(rng.normal(size=(P, 2)))[0].T  # orthonormal
    t = np.linspace(0, 1, 30)
    end = _flat(net.params)
    thetas = end + np.outer(3 * (1 - t), u) + np.outer(np.sin(6 * t) * (1 - t), v)
    path = project_trajectory(net, thetas, X, Y, grid=7)
    np.testing.assert_allclose(path.explained.sum(), 1.0, rtol=1e-12)
    # the plane is reconstructed exactly: theta_t = theta_T + c1 v1 + c2 v2
    v1, v2 = (_flat(direction) for direction in path.directions)
    rebuilt = end + np.outer(path.coords[:, 0], v1) + np.outer(path.coords[:, 1], v2)
    np.testing.assert_allclose(rebuilt, thetas, atol=1e-12)
    np.testing.assert_allclose(path.coords[-1], 0.0, atol=1e-12)
    assert path.coords[0, 0] > 0 and path.surface.losses.shape == (7, 7)
    assert path.losses[-1] == pytest.approx(net.loss(X, Y))


def test_gd_trajectory_records_every_kth_step_and_projects():
    from deltaprop.lab import gd_trajectory, project_trajectory

    net, X, Y = _trained_regression(steps=1)
    thetas, trained = gd_trajectory(net, X, Y, lr=0.3, steps=50, every=5)
    assert thetas.shape == (11, _flat(net.params).size)
    np.testing.assert_array_equal(thetas[0], _flat(net.params))
    np.testing.assert_array_equal(thetas[-1], _flat(trained.params))
    again = net.copy()
    gradient_descent(again, X, Y, lr=0.3, steps=50)
    np.testing.assert_array_equal(_flat(again.params), thetas[-1])
    path = project_trajectory(net, thetas, X, Y, grid=5)
    assert np.all(np.diff(path.losses) < 0)  # a small eta: the loss falls along the path
    assert 0.5 < path.explained[0] <= 1.0
    with pytest.raises(ValueError, match="at least 3 rows"):
        project_trajectory(net, thetas[:2])


def test_landscape_figures():
    from deltaprop.lab import gd_trajectory, interpolate, loss_slice, loss_surface, project_trajectory
    from deltaprop.plots import plot_loss_slices, plot_loss_surface, plot_trajectory

    net, X, Y = _trained_regression()
    lines = [loss_slice(net, X, Y, alphas=np.linspace(-1, 1, 7), random_state=s) for s in (0, 1)]
    fig = plot_loss_slices(lines, labels=["d1", "d2"])
    assert fig.axes[0].get_legend_handles_labels()[1] == ["d1", "d2"]
    other = Network([2, 8, 1], activation="tanh", output="identity", random_state=3)
    fig = plot_loss_slices(interpolate(net, other, X, Y, alphas=np.linspace(0, 1, 5)))
    assert "theta_A" in fig.axes[0].get_xlabel()
    grid = np.linspace(-1, 1, 5)
    fig = plot_loss_surface(loss_surface(net, X, Y, alphas=grid, betas=grid, random_state=0))
    assert len(fig.axes) == 2  # the contours and their colour bar
    thetas, _ = gd_trajectory(Network([2, 8, 1], activation="tanh", output="identity"), X, Y, 0.3, 20, 2)
    fig = plot_trajectory(project_trajectory(net, thetas, X, Y, grid=5))
    assert "% of the path" in fig.axes[0].get_xlabel()
    with pytest.raises(TypeError, match="loss_slice or interpolate"):
        plot_loss_slices([np.zeros(3)])
    with pytest.raises(TypeError, match="loss_surface returns"):
        plot_loss_surface(lines[0])


def test_filter_normalised_slices_do_not_see_a_rescaling_that_leaves_the_function_alone():
    # ReLU is positively homogeneous: layer 1 (W, b) times c and W^(2) divided by c is the same function.
    from deltaprop.lab import loss_slice

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    Y = np.eye(2)[(X[:, 0] * X[:, 1] > 0).astype(int)]
    net = Network([3, 12, 2], activation="relu", output="softmax", random_state=0)
    gradient_descent(net, X, Y, lr=0.5, steps=300)
    scaled = net.copy()
    scaled.W = [10.0 * net.W[0], net.W[1] / 10.0]
    scaled.b = [10.0 * net.b[0], net.b[1]]
    np.testing.assert_allclose(scaled.predict(X), net.predict(X), rtol=1e-12)
    alphas = np.linspace(-1, 1, 11)
    line = loss_slice(net, X, Y, alphas=alphas, random_state=3)
    again = loss_slice(scaled, X, Y, alphas=alphas, random_state=3)
    np.testing.assert_allclose(again.losses, line.losses, rtol=1e-10)
    # with the biases in the direction it is not: b^(2) is not rescaled, so the row norms of
    # [W^(2) | b^(2)] do not follow the 1/c (one reason Li et al. leave the biases out)
    line = loss_slice(net, X, Y, alphas=alphas, biases=True, random_state=3)
    again = loss_slice(scaled, X, Y, alphas=alphas, biases=True, random_state=3)
    assert not np.allclose(again.losses, line.losses, rtol=0.05)
    # the same Gaussian direction without the normalisation sees two different landscapes
    raw = Params([rng.normal(size=W.shape) for W in net.W], [np.zeros_like(b) for b in net.b])
    plain = loss_slice(net, X, Y, direction=raw, alphas=alphas)
    plain_scaled = loss_slice(scaled, X, Y, direction=raw, alphas=alphas)
    assert not np.allclose(plain.losses, plain_scaled.losses, rtol=0.1)
