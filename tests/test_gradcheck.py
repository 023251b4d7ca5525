import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deltaprop import Network, check_gradients
from deltaprop.activations import ACTIVATIONS
from deltaprop.losses import OUTPUTS
from deltaprop.network import Grads


def _targets(output, rng, n, K):
    if output == "softmax":
        return np.eye(K)[rng.integers(0, K, n)]
    if output == "sigmoid":
        return rng.integers(0, 2, (n, K)).astype(float)
    return rng.normal(size=(n, K))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_every_activation_output_and_depth(activation, output, depth):
    rng = np.random.default_rng(depth)
    sizes = [3, *rng.integers(2, 6, depth - 1).tolist(), 3]
    net = Network(sizes, activation=activation, output=output, init="sklearn", random_state=depth)
    X = rng.normal(size=(6, 3))
    report = check_gradients(net, X, _targets(output, rng, 6, 3), l2=0.05)
    assert len(report.layers) == depth
    assert report.max_rel_error < 1e-7, str(report)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    widths=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    n=st.integers(1, 8),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    output=st.sampled_from(sorted(OUTPUTS)),
    # No penalty, or one that is not vanishingly small: with lambda ~ 1e-11 the gradient of a
    # dead unit's weights is lambda W ~ 1e-11, below what differences of the loss resolve.
    l2=st.one_of(st.just(0.0), st.floats(1e-3, 1)),
    seed=st.integers(0, 2**16),
)
def test_random_shapes(widths, n, activation, output, l2, seed):
    rng = np.random.default_rng(seed)
    if output == "softmax" and widths[-1] == 1:
        widths[-1] = 2
    # Drawn biases keep pre-activations off the ReLU kink even where a unit is dead.
    net = Network(widths, activation=activation, output=output, init="sklearn", random_state=seed)
    X = rng.normal(size=(n, widths[0]))
    if activation in ("relu", "leaky_relu"):
        # Central differences are meaningless across a kink: skip draws that put a
        # hidden pre-activation within reach of the stencil (2 eps = 2e-4) of 0.
        hidden = net.forward(X).a[:-1]
        assume(all(np.abs(a).min() > 1e-3 for a in hidden))
    Y = _targets(output, rng, n, widths[-1])
    # Differences of the loss resolve a gradient only to ~1e-12 (gradcheck's docstring): a
    # layer whose gradient norm is ~1e-5 (units nearly dead) shows 1e-7 from rounding alone.
    grads = net.backward(net.forward(X), Y, l2=l2)
    assume(all(np.linalg.norm(g) > 1e-4 for g in grads.W + grads.b))
    report = check_gradients(net, X, Y, l2=l2)
    assert report.max_rel_error < 1e-7, str(report)


def test_float32_network_is_checked_in_float64():
    rng = np.random.default_rng(0)
    net = Network([4, 5, 3], activation="tanh", random_state=0, dtype="float32")
    report = check_gradients(net, rng.normal(size=(5, 4)), np.eye(3)[[0, 1, 2, 0, 1]])
    assert report.max_rel_error < 1e-7
    assert net.W[0].dtype == np.float32  # the caller's network is untouched


class _ForgetsTheDerivative(Network):
    """A wrong backward: sigma'(a^(h)) left out of the backprop formula."""

    def _backward(self, cache, Y, l2, sample_weight):
        n = Y.shape[0]
        delta = (cache.z[-1] - Y) / n
        dW, db = [None] * self.D, [None] * self.D
        for h in reversed(range(1, self.D + 1)):
            dW[h - 1] = delta.T @ cache.z[h - 1] + l2 * self.W[h - 1]
            db[h - 1] = delta.sum(axis=0)
            delta = delta @ self.W[h - 1]
        return Grads(dW, db)


class _ForgetsThePenalty(Network):
    def _backward(self, cache, Y, l2, sample_weight):
        return super()._backward(cache, Y, 0.0, sample_weight)


@pytest.mark.parametrize("wrong", [_ForgetsTheDerivative, _ForgetsThePenalty])
def test_a_wrong_backward_is_caught(wrong):
    rng = np.random.default_rng(0)
    net = wrong([3, 4, 2], activation="tanh", random_state=0)
    report = check_gradients(net, rng.normal(size=(6, 3)), np.eye(2)[[0, 1, 1, 0, 1, 0]], l2=0.5)
    assert report.max_rel_error > 1e-3
    assert report.layers[0].W > 1e-3  # the error is found in layer 1


def test_report_text_names_every_layer():
    net = Network([2, 3, 3, 2], random_state=0, activation="tanh")
    report = check_gradients(net, np.ones((2, 2)), np.eye(2))
    text = str(report)
    assert "max relative error" in text
    assert len(text.splitlines()) == 2 + 3
