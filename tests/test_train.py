import warnings

import numpy as np
import pytest

from deltaprop import DivergenceError, Network, gradient_descent


def _blobs(n=60, d=4, K=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, n)
    X = rng.normal(size=(n, d)) + 3.0 * np.eye(K, d)[labels]
    return X, labels


def test_gradient_descent_is_the_slides_update():
    X, labels = _blobs()
    Y = np.eye(3)[labels]
    net = Network([4, 5, 3], activation="tanh", random_state=0)
    ref = net.copy()
    losses = gradient_descent(net, X, Y, lr=0.3, l2=0.01, steps=3)
    for t in range(3):
        assert losses[t] == pytest.approx(ref.loss(X, Y, l2=0.01), rel=1e-12)
        grads = ref.backward(ref.forward(X), Y, l2=0.01)
        ref.W = [W - 0.3 * g for W, g in zip(ref.W, grads.W, strict=True)]
        ref.b = [b - 0.3 * g for b, g in zip(ref.b, grads.b, strict=True)]
    for got, want in zip(net.W + net.b, ref.W + ref.b, strict=True):
        np.testing.assert_array_equal(got, want)


def test_loss_falls_and_classifies():
    X, labels = _blobs(n=200)
    net = Network([4, 16, 3], activation="relu", random_state=0)
    losses = gradient_descent(net, X, np.eye(3)[labels], lr=0.5, steps=300)
    assert losses[-1] < 0.5 * losses[0]
    assert (net.predict(X).argmax(axis=1) == labels).mean() > 0.9


def test_float32_training_stays_float32():
    X, labels = _blobs()
    net = Network([4, 5, 3], random_state=0, dtype="float32")
    gradient_descent(net, X, np.eye(3)[labels], lr=0.1, steps=5)
    assert all(p.dtype == np.float32 for p in net.W + net.b)


def test_divergence_keeps_last_finite_parameters():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)) * 100
    Y = rng.normal(size=(20, 1)) * 100
    net = Network([3, 8, 1], activation="identity", output="identity", random_state=0)
    with pytest.raises(DivergenceError, match="lower learning rate") as info:
        gradient_descent(net, X, Y, lr=10.0, steps=500)
    assert "step" in str(info.value)
    assert all(np.isfinite(p).all() for p in net.W + net.b)
    assert np.isfinite(net.loss(X, Y))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"lr": -0.1}, "'lr'"), ({"lr": 0.0}, "'lr'"), ({"l2": -1.0}, "'l2'"), ({"steps": -1}, "'steps'")],
)
def test_bad_arguments(kwargs, match):
    X, labels = _blobs()
    net = Network([4, 3], random_state=0)
    with pytest.raises(ValueError, match=match):
        gradient_descent(net, X, np.eye(3)[labels], **kwargs)
    with pytest.raises(TypeError, match="'steps'"):
        gradient_descent(net, X, np.eye(3)[labels], steps=2.5)


# ---------------------------------------------------------------- scikit-learn
sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402


def _sklearn_batch_gd(cls, X, y, net, lr, alpha, steps, activation):
    """scikit-learn's MLP run as the lecture's batch GD from ``net``'s weights."""
    n = len(X)
    common = dict(
        hidden_layer_sizes=tuple(net.sizes[1:-1]),
        activation=activation,
        solver="sgd",
        momentum=0.0,
        nesterovs_momentum=False,
        batch_size=n,
        shuffle=False,
        learning_rate="constant",
        learning_rate_init=lr,
        alpha=alpha,
        tol=0.0,
        n_iter_no_change=steps + 1,
        random_state=0,
    )
    model = cls(max_iter=1, **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)  # sets up the label encoding; its weights are replaced below
        model.coefs_ = [W.T.copy() for W in net.W]  # (fan_in, fan_out) layout
        model.intercepts_ = [b.copy() for b in net.b]
        model.set_params(warm_start=True, max_iter=steps)
        model.loss_curve_ = []
        model.fit(X, y)
    return model


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_batch_gd_matches_sklearn_classifier(activation):
    X, labels = _blobs(n=80, d=5, K=4, seed=1)
    n, lam, lr = len(X), 1e-3, 0.2
    net = Network([5, 7, 6, 4], activation=activation, output="softmax", init="sklearn", random_state=0)
    model = _sklearn_batch_gd(MLPClassifier, X, labels, net, lr, lam * n, 50, activation)
    losses = gradient_descent(net, X, np.eye(4)[labels], lr=lr, l2=lam, steps=50)
    for W, coef in zip(net.W, model.coefs_, strict=True):
        np.testing.assert_allclose(W, coef.T, rtol=0, atol=1e-10)
    for b, intercept in zip(net.b, model.intercepts_, strict=True):
        np.testing.assert_allclose(b, intercept, rtol=0, atol=1e-10)
    np.testing.assert_allclose(losses, model.loss_curve_, rtol=0, atol=1e-10)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_batch_gd_matches_sklearn_regressor(activation):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(70, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    n, lam, lr = len(X), 1e-2, 0.05
    net = Network([3, 8, 1], activation=activation, output="identity", init="sklearn", random_state=1)
    model = _sklearn_batch_gd(MLPRegressor, X, y, net, lr, lam * n, 50, activation)
    losses = gradient_descent(net, X, y[:, None], lr=lr, l2=lam, steps=50)
    for W, coef in zip(net.W, model.coefs_, strict=True):
        np.testing.assert_allclose(W, coef.T, rtol=0, atol=1e-10)
    for b, intercept in zip(net.b, model.intercepts_, strict=True):
        np.testing.assert_allclose(b, intercept, rtol=0, atol=1e-10)
    np.testing.assert_allclose(losses, model.loss_curve_, rtol=0, atol=1e-10)
