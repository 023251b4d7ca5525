import math
import re

import numpy as np
import pytest

from deltaprop.explain import STAGES, Quantity, Trace, trace
from deltaprop.network import Network
from deltaprop.train import gradient_descent


def _net(sizes=(3, 4, 3, 2), activation="tanh", output="softmax", seed=0):
    return Network(list(sizes), activation=activation, output=output, random_state=seed)


def _batch(n=3, d=3, K=2, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), np.eye(K)[rng.integers(0, K, n)]


def _tiny():
    """The 2-2-2 network of the hand computation: sigmoid hidden layer, softmax output."""
    W = [np.array([[0.1, -0.2], [0.3, 0.4]]), np.array([[0.5, -0.5], [0.2, 0.1]])]
    b = [np.array([0.1, -0.1]), np.array([0.0, 0.05])]
    return Network.from_weights(W, b, activation="sigmoid", output="softmax")


# ---------------------------------------------------------- the network's numbers
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_one_sample_trace_is_forward_and_backward_exactly(l2):
    net = _net()
    X, Y = _batch(n=1)
    t = trace(net, X, Y, lr=0.2, l2=l2)
    cache = net.forward(X)
    grads = net.backward(cache, Y, l2=l2)
    D = net.D
    np.testing.assert_array_equal(t["z^(0)"], X.T)
    for h in range(1, D + 1):
        np.testing.assert_array_equal(t[f"a^({h})"], cache.a[h - 1].T)
        np.testing.assert_array_equal(t[f"dL/dW^({h})"], grads.W[h - 1])
        np.testing.assert_array_equal(t[f"dL/db^({h})"], grads.b[h - 1])
        np.testing.assert_array_equal(t[f"W^({h})"], net.W[h - 1])
        np.testing.assert_array_equal(t[f"b^({h})"], net.b[h - 1])
        # One sample: dL/db^(h) = delta^(h), so backprop's error signal shows exactly.
        np.testing.assert_array_equal(t[f"delta^({h})"][:, 0], grads.b[h - 1])
    for h in range(1, D):
        np.testing.assert_array_equal(t[f"z^({h})"], cache.z[h].T)
        sigma = net.activations[h - 1]
        np.testing.assert_array_equal(t[f"sigma'(a^({h}))"], sigma.df(cache.a[h - 1], cache.z[h]).T)
    np.testing.assert_array_equal(t["f(X)"], cache.z[D].T)
    np.testing.assert_array_equal(t["Y"], Y.T)
    assert float(t["L"]) == net.loss(X, Y, l2=l2)


def test_the_step_is_one_step_of_gradient_descent_and_leaves_the_network():
    net = _net()
    X, Y = _batch(n=4)
    before = net.copy()
    t = trace(net, X, Y, lr=0.3, l2=0.05)
    stepped = net.copy()
    gradient_descent(stepped, X, Y, lr=0.3, l2=0.05, steps=1)
    for h in range(1, net.D + 1):
        np.testing.assert_array_equal(t[f"W^({h})(t+1)"], stepped.W[h - 1])
        np.testing.assert_array_equal(t[f"b^({h})(t+1)"], stepped.b[h - 1])
        np.testing.assert_array_equal(net.W[h - 1], before.W[h - 1])
        np.testing.assert_array_equal(net.b[h - 1], before.b[h - 1])


def test_batch_trace_shows_samples_as_columns_and_gradients_as_their_means():
    net = _net()
    X, Y = _batch(n=3)
    t = trace(net, X, Y)
    assert t.n_samples == 3
    assert t["z^(0)"].shape == (3, 3) and t["a^(1)"].shape == (4, 3) and t["delta^(3)"].shape == (2, 3)
    grads = net.backward(net.forward(X), Y)
    for h in range(1, net.D + 1):
        delta = t[f"delta^({h})"]  # (M_h, n), column i = sample i
        np.testing.assert_allclose(delta.mean(axis=1), grads.b[h - 1], rtol=1e-12, atol=1e-15)
        z_prev = t[f"z^({h - 1})"] if h > 1 else t["z^(0)"]
        np.testing.assert_allclose(delta @ z_prev.T / 3, grads.W[h - 1], rtol=1e-12, atol=1e-15)
    # Each column is that sample's own trace.
    for i in range(3):
        alone = trace(net, X[i], Y[i])
        for h in range(1, net.D + 1):
            np.testing.assert_allclose(t[f"delta^({h})"][:, i], alone[f"delta^({h})"][:, 0], rtol=1e-12)


def test_the_traced_quantities_satisfy_the_lectures_equations():
    net = _net(sizes=(3, 5, 4, 2), activation=["sigmoid", "relu"])
    X, Y = _batch(n=2)
    t = trace(net, X, Y, l2=0.1)
    np.testing.assert_allclose(t["delta^(3)"], t["f(X)"] - t["Y"])
    for h in (2, 1):  # delta^(h) = sigma'(a^(h)) o (W^(h+1))^T delta^(h+1)
        expected = t[f"sigma'(a^({h}))"] * (t[f"W^({h + 1})"].T @ t[f"delta^({h + 1})"])
        np.testing.assert_allclose(t[f"delta^({h})"], expected, rtol=1e-12, atol=1e-15)
    for h in (1, 2, 3):  # a^(h) = W^(h) z^(h-1) + b^(h), columns
        z_prev = t[f"z^({h - 1})"] if h > 1 else t["z^(0)"]
        expected = t[f"W^({h})"] @ z_prev + t[f"b^({h})"][:, None]
        np.testing.assert_allclose(t[f"a^({h})"], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(t["sigma'(a^(1))"], t["z^(1)"] * (1 - t["z^(1)"]))


def test_relu_weak_derivative_at_zero_is_zero():
    net = Network.from_weights([[[1.0, -1.0]], [[2.0]]], [[0.0], [0.0]], activation="relu", output="identity")
    t = trace(net, [3.0, 3.0], [1.0])  # a^(1) = 0 exactly
    assert t["a^(1)"].item() == 0.0
    assert t["sigma'(a^(1))"].item() == 0.0
    assert t["delta^(1)"].item() == 0.0


# ---------------------------------------------------------------- by hand
def test_hand_computation_of_a_2_2_2_network():
    """Every number of the tiny network worked out with scalars, as on paper."""
    net = _tiny()
    t = trace(net, [1.0, 2.0], [0.0, 1.0], lr=0.5)

    a1 = [0.1 * 1 - 0.2 * 2 + 0.1, 0.3 * 1 + 0.4 * 2 - 0.1]  # W^(1) x + b^(1)
    z1 = [1 / (1 + math.exp(-a)) for a in a1]
    a2 = [0.5 * z1[0] - 0.5 * z1[1] + 0.0, 0.2 * z1[0] + 0.1 * z1[1] + 0.05]
    f = [math.exp(a) / (math.exp(a2[0]) + math.exp(a2[1])) for a in a2]
    d2 = [f[0] - 0.0, f[1] - 1.0]  # f(X) - Y
    s1 = [z * (1 - z) for z in z1]  # sigmoid' = z (1 - z)
    d1 = [s1[0] * (0.5 * d2[0] + 0.2 * d2[1]), s1[1] * (-0.5 * d2[0] + 0.1 * d2[1])]
    dW2 = [[d2[k] * z1[m] for m in range(2)] for k in range(2)]
    dW1 = [[d1[m] * x for x in (1.0, 2.0)] for m in range(2)]

    def close(name, expected):
        np.testing.assert_allclose(np.squeeze(t[name]), np.squeeze(expected), rtol=1e-12, atol=1e-15)

    close("a^(1)", a1)
    close("z^(1)", z1)
    close("a^(2)", a2)
    close("f(X)", f)
    close("delta^(2)", d2)
    close("sigma'(a^(1))", s1)
    close("delta^(1)", d1)
    close("dL/dW^(2)", dW2)
    close("dL/db^(2)", d2)
    close("dL/dW^(1)", dW1)
    close("dL/db^(1)", d1)
    close("W^(1)(t+1)", np.array([[0.1, -0.2], [0.3, 0.4]]) - 0.5 * np.array(dW1))
    close("b^(2)(t+1)", np.array([0.0, 0.05]) - 0.5 * np.array(d2))
    # The same numbers written down once, to six figures.
    assert t["a^(1)"].ravel().tolist() == pytest.approx([-0.2, 1.0])
    assert t["f(X)"].ravel().tolist() == pytest.approx([0.412513, 0.587487], abs=1e-6)
    assert t["delta^(1)"].ravel().tolist() == pytest.approx([0.0306312, -0.0486630], abs=1e-7)
    assert t["L"].item() == pytest.approx(-math.log(0.587487), abs=1e-6)


# ---------------------------------------------------------------- rendering
def _trace_with_everything():
    return trace(_net(), *_batch(n=1), lr=0.1, l2=0.01)


def test_names_follow_the_lecture_in_computation_order():
    t = trace(_tiny(), [1.0, 2.0], [0.0, 1.0])
    assert t.names() == [
        "W^(1)", "b^(1)", "W^(2)", "b^(2)",
        "z^(0)", "a^(1)", "z^(1)", "a^(2)", "f(X)",
        "L",
        "Y", "delta^(2)", "sigma'(a^(1))", "delta^(1)",
        "dL/dW^(1)", "dL/db^(1)", "dL/dW^(2)", "dL/db^(2)",
        "W^(1)(t+1)", "b^(1)(t+1)", "W^(2)(t+1)", "b^(2)(t+1)",
    ]  # fmt: skip
    assert [q.stage for q in t] == sorted((q.stage for q in t), key=STAGES.index)
    assert t.quantity("delta^(1)").equation == "delta^(1) = sigma'(a^(1)) o (W^(2))^T delta^(2)"
    assert t.quantity("dL/dW^(1)").equation == "dL/dW^(1) = delta^(1) (z^(0))^T"
    assert isinstance(t, Trace) and all(isinstance(q, Quantity) for q in t) and len(t) == 22


def test_equations_mention_the_penalty_and_the_mean_only_when_present():
    net = _net()
    one = trace(net, *_batch(n=1))
    batch = trace(net, *_batch(n=2), l2=0.5)
    assert "lambda" not in one.quantity("dL/dW^(1)").equation
    assert (
        batch.quantity("dL/dW^(1)").equation
        == "dL/dW^(1) = (1/n) sum_i delta^(1)_i (z^(0)_i)^T + lambda W^(1)"
    )
    assert batch.quantity("dL/db^(2)").equation_latex == (
        r"\frac{\partial L}{\partial b^{(2)}} = \frac{1}{n} \sum_i \delta^{(2)}_i"
    )


@pytest.mark.parametrize("fmt", ["to_text", "to_markdown"])
def test_text_and_markdown_name_every_quantity_with_its_equation(fmt):
    t = _trace_with_everything()
    out = getattr(t, fmt)()
    for q in t:
        assert q.name in out
        # Markdown escapes the pipes of ||w|| so that they do not end table cells.
        equation = q.equation.replace("|", "\\|") if fmt == "to_markdown" else q.equation
        assert equation in out
    assert "column" in out  # says that the lecture's columns are shown


def test_latex_names_every_quantity_with_proper_notation():
    t = _trace_with_everything()
    out = t.to_latex()
    for q in t:
        assert q.latex in out and q.equation_latex in out
    for needle in [r"\delta^{(3)}", r"\sigma'(a^{(1)})", r"\circ (W^{(2)})^\top", r"\begin{bmatrix}"]:
        assert needle in out
    assert out.count(r"\begin{align*}") == out.count(r"\end{align*}") == len(STAGES)
    assert out.count("{") == out.count("}")
    document = t.to_latex(document=True)
    assert document.startswith("\\documentclass{article}\n\\usepackage{amsmath}")
    assert document.rstrip().endswith("\\end{document}")


def test_values_are_rounded_to_the_requested_digits():
    t = trace(_tiny(), [1.0, 2.0], [0.0, 1.0])
    # z^(1) = (0.450166..., 0.731058...)
    assert "0.4502" in t.to_text() and "0.45017" not in t.to_text()
    assert "0.45017" in t.to_text(digits=5)
    assert "0.45 \\\\" in t.to_latex(digits=2)
    assert "`[0.45; 0.731]`" in t.to_markdown(digits=3)  # trailing zeros dropped
    # A column vector is drawn as a column: one row per unit.
    text = t.to_text(digits=2)
    block = text.split("z^(1)  [2x1]")[1].splitlines()[1:3]
    assert [row.split() for row in block] == [["[", "0.45", "]"], ["[", "0.73", "]"]]


def test_markdown_tables_survive_pipes():
    t = trace(_net(), *_batch(n=1), l2=0.1)
    md = t.to_markdown()
    loss_row = next(line for line in md.splitlines() if line.startswith("| `L`"))
    assert len(re.findall(r"(?<!\\)\|", loss_row)) == 6  # five cells
    assert t._repr_markdown_() == md and str(t) == t.to_text()


# ---------------------------------------------------------------- validation
def test_bad_inputs_are_rejected_with_clear_messages():
    net = _tiny()
    with pytest.raises(TypeError, match="Network"):
        trace("net", [1.0, 2.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="columns"):
        trace(net, [1.0, 2.0, 3.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="rows"):
        trace(net, [[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="'lr'"):
        trace(net, [1.0, 2.0], [0.0, 1.0], lr=0.0)
    with pytest.raises(ValueError, match="'l2'"):
        trace(net, [1.0, 2.0], [0.0, 1.0], l2=-1.0)
    t = trace(net, [1.0, 2.0], [0.0, 1.0])
    with pytest.raises(KeyError, match="delta"):
        t["delta^(9)"]
    with pytest.raises(ValueError, match="'digits'"):
        t.to_text(digits=-1)


def test_float32_networks_and_regression_outputs_trace_too():
    net = Network([2, 3, 1], activation="tanh", output="identity", random_state=0, dtype="float32")
    t = trace(net, [0.5, -1.0], [2.0])
    assert t["a^(1)"].dtype == np.float32 and t["delta^(2)"].dtype == np.float32
    np.testing.assert_array_equal(t["dL/db^(1)"], t["delta^(1)"][:, 0])
    assert "real targets" in t.quantity("Y").equation
