import re
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor

from deltaprop.activations import Activation
from deltaprop.interop import (
    from_sklearn,
    from_torch_state_dict,
    to_sklearn,
    to_torch_module,
    to_torch_state_dict,
)
from deltaprop.network import Network

# Short fits: the models need not converge to test that conversions are exact.
pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

EXACT = {"rtol": 0, "atol": 1e-12}


def _iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def _assert_same_params(net, other):
    assert net.sizes == other.sizes
    assert [a.name for a in net.activations] == [a.name for a in other.activations]
    assert net.output.name == other.output.name
    for w, v in zip(net.W + net.b, other.W + other.b, strict=True):
        np.testing.assert_array_equal(w, v)


# ----------------------------------------------------------- scikit-learn -> deltaprop
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_from_sklearn_multiclass_matches_predict_proba(activation):
    X, y = _iris()
    mlp = MLPClassifier((6, 5), activation=activation, max_iter=60, random_state=0).fit(X, y)
    net = from_sklearn(mlp)
    assert net.sizes == [4, 6, 5, 3]
    assert net.output.name == "softmax"
    expected = {"logistic": "sigmoid"}.get(activation, activation)
    assert [act.name for act in net.activations] == [expected, expected]
    np.testing.assert_allclose(net.predict(X), mlp.predict_proba(X), **EXACT)
    np.testing.assert_array_equal(mlp.classes_[net.predict(X).argmax(axis=1)], mlp.predict(X))
    # W^(h) is the transpose of scikit-learn's coefs_, as the lecture orients it.
    for h in range(1, net.D + 1):
        np.testing.assert_array_equal(net.W[h - 1], mlp.coefs_[h - 1].T)
        np.testing.assert_array_equal(net.b[h - 1], mlp.intercepts_[h - 1])


def test_from_sklearn_binary_keeps_one_sigmoid_unit():
    X, y = _iris()
    keep = y > 0
    X, labels = X[keep], np.where(y[keep] == 1, "versicolor", "virginica")
    mlp = MLPClassifier((5,), activation="tanh", max_iter=80, random_state=1).fit(X, labels)
    assert mlp.n_outputs_ == 1
    net = from_sklearn(mlp)
    assert net.sizes == [4, 5, 1] and net.output.name == "sigmoid"
    proba = mlp.predict_proba(X)
    np.testing.assert_allclose(net.predict(X)[:, 0], proba[:, 1], **EXACT)
    np.testing.assert_allclose(1 - net.predict(X)[:, 0], proba[:, 0], **EXACT)
    np.testing.assert_array_equal(mlp.classes_[(net.predict(X)[:, 0] > 0.5).astype(int)], mlp.predict(X))


def test_from_sklearn_binary_as_two_softmax_units_gives_predict_proba():
    X, y = _iris()
    keep = y < 2
    mlp = MLPClassifier((4,), activation="relu", max_iter=40, random_state=2).fit(X[keep], y[keep])
    net = from_sklearn(mlp, binary_output="softmax")
    assert net.sizes == [4, 4, 2] and net.output.name == "softmax"
    np.testing.assert_allclose(net.predict(X), mlp.predict_proba(X), **EXACT)
    # Back to scikit-learn's single logistic unit: the difference of the halves is exact.
    back = to_sklearn(net)
    np.testing.assert_array_equal(back.coefs_[-1], mlp.coefs_[-1])
    np.testing.assert_array_equal(back.intercepts_[-1], mlp.intercepts_[-1])


def test_from_sklearn_multilabel():
    X, Y = make_multilabel_classification(n_samples=60, n_features=5, n_classes=3, random_state=0)
    mlp = MLPClassifier((7,), activation="logistic", max_iter=50, random_state=0).fit(X, Y)
    net = from_sklearn(mlp)
    assert net.sizes == [5, 7, 3] and net.output.name == "sigmoid"
    np.testing.assert_allclose(net.predict(X), mlp.predict_proba(X), **EXACT)
    np.testing.assert_array_equal((net.predict(X) > 0.5).astype(int), mlp.predict(X))


@pytest.mark.parametrize("n_targets", [1, 3])
def test_from_sklearn_regression(n_targets):
    X, Y = make_regression(n_samples=50, n_features=4, n_targets=n_targets, noise=0.1, random_state=0)
    mlp = MLPRegressor(hidden_layer_sizes=(8, 3), activation="tanh", max_iter=50, random_state=0)
    mlp.fit(X, Y / Y.std())
    net = from_sklearn(mlp)
    assert net.sizes == [4, 8, 3, n_targets] and net.output.name == "identity"
    np.testing.assert_allclose(net.predict(X).reshape(mlp.predict(X).shape), mlp.predict(X), **EXACT)


def test_from_sklearn_without_hidden_layers():
    X, y = _iris()
    mlp = MLPClassifier(hidden_layer_sizes=(), max_iter=30, random_state=0).fit(X, y)
    net = from_sklearn(mlp)
    assert net.D == 1 and net.activations == []
    np.testing.assert_allclose(net.predict(X), mlp.predict_proba(X), **EXACT)


def test_from_sklearn_keeps_float32_unless_asked():
    X, y = _iris()
    mlp = MLPClassifier((5,), max_iter=20, random_state=0).fit(X.astype(np.float32), y)
    assert mlp.coefs_[0].dtype == np.float32
    assert from_sklearn(mlp).dtype == np.float32
    assert from_sklearn(mlp, dtype="float64").W[0].dtype == np.float64


def test_from_sklearn_rejects_what_it_cannot_convert():
    X, y = _iris()
    with pytest.raises(TypeError, match="MLPClassifier or MLPRegressor"):
        from_sklearn(Network([2, 2]))
    with pytest.raises(NotFittedError):
        from_sklearn(MLPClassifier())
    poisson = MLPRegressor(hidden_layer_sizes=(3,), loss="poisson", max_iter=5, random_state=0)
    poisson.fit(X, np.abs(y) + 1.0)
    with pytest.raises(ValueError, match="'exp'"):
        from_sklearn(poisson)
    mlp = MLPClassifier((3,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="binary_output"):
        from_sklearn(mlp, binary_output="tanh")


# ----------------------------------------------------------- deltaprop -> scikit-learn
def _X(d=4, n=30, seed=0):
    return np.random.default_rng(seed).normal(scale=2.0, size=(n, d))


@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu"])
def test_to_sklearn_multiclass_round_trip(activation):
    net = Network([4, 6, 5, 3], activation=activation, output="softmax", init="sklearn", random_state=3)
    X = _X()
    mlp = to_sklearn(net, classes=["a", "b", "c"])
    assert isinstance(mlp, MLPClassifier)
    assert mlp.hidden_layer_sizes == (6, 5)
    assert mlp.out_activation_ == "softmax" and mlp.n_outputs_ == 3 and mlp.n_layers_ == 4
    np.testing.assert_allclose(mlp.predict_proba(X), net.predict(X), **EXACT)
    np.testing.assert_array_equal(mlp.predict(X), np.array(["a", "b", "c"])[net.predict(X).argmax(axis=1)])
    _assert_same_params(from_sklearn(mlp), net)
    # The estimator is a genuine scikit-learn one: score and clone work.
    assert mlp.score(X, mlp.predict(X)) == 1.0
    assert clone(mlp).get_params()["activation"] == mlp.activation


def test_to_sklearn_two_softmax_units_become_one_logistic_unit():
    net = Network([4, 5, 2], activation="tanh", output="softmax", random_state=0)
    X = _X()
    mlp = to_sklearn(net, classes=[-1, 1])
    assert mlp.n_outputs_ == 1 and mlp.out_activation_ == "logistic"
    np.testing.assert_allclose(mlp.predict_proba(X), net.predict(X), **EXACT)
    np.testing.assert_array_equal(mlp.predict(X), np.array([-1, 1])[net.predict(X).argmax(axis=1)])
    back = from_sklearn(mlp, binary_output="softmax")
    np.testing.assert_allclose(back.predict(X), net.predict(X), **EXACT)


def test_to_sklearn_one_sigmoid_unit_is_binary():
    net = Network([4, 3, 1], activation="relu", output="sigmoid", random_state=1)
    X = _X()
    mlp = to_sklearn(net)
    np.testing.assert_array_equal(mlp.classes_, [0, 1])
    np.testing.assert_allclose(mlp.predict_proba(X)[:, 1], net.predict(X)[:, 0], **EXACT)
    np.testing.assert_array_equal(mlp.predict(X), (net.predict(X)[:, 0] > 0.5).astype(int))
    _assert_same_params(from_sklearn(mlp), net)


def test_to_sklearn_several_sigmoid_units_are_multilabel():
    net = Network([4, 6, 3], activation="sigmoid", output="sigmoid", random_state=2)
    X = _X()
    mlp = to_sklearn(net)
    assert mlp.n_outputs_ == 3
    np.testing.assert_allclose(mlp.predict_proba(X), net.predict(X), **EXACT)
    np.testing.assert_array_equal(mlp.predict(X), (net.predict(X) > 0.5).astype(int))
    _assert_same_params(from_sklearn(mlp), net)
    with pytest.raises(ValueError, match="multi-label"):
        to_sklearn(net, classes=["x", "y", "z"])


@pytest.mark.parametrize("K", [1, 2])
def test_to_sklearn_identity_output_is_a_regressor(K):
    net = Network([4, 5, K], activation="tanh", output="identity", random_state=4)
    X = _X()
    mlp = to_sklearn(net)
    assert isinstance(mlp, MLPRegressor)
    np.testing.assert_allclose(mlp.predict(X).reshape(-1, K), net.predict(X), **EXACT)
    _assert_same_params(from_sklearn(mlp), net)
    with pytest.raises(ValueError, match="'classes'"):
        to_sklearn(net, classes=[0, 1])


def test_to_sklearn_without_hidden_layers_and_in_float32():
    net = Network([4, 3], output="softmax", random_state=0, dtype="float32")
    X = _X()
    mlp = to_sklearn(net)
    assert mlp.hidden_layer_sizes == () and mlp.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(mlp.predict_proba(X), net.predict(X), rtol=1e-5, atol=1e-6)
    _assert_same_params(from_sklearn(mlp), net)


@pytest.mark.parametrize("name", ["leaky_relu", "softplus", "gelu"])
def test_to_sklearn_names_the_layer_and_the_missing_activation(name):
    net = Network([3, 4, 4, 2], activation=["tanh", name], random_state=0)
    with pytest.raises(ValueError, match=f"Hidden layer 2 uses the activation '{name}'"):
        to_sklearn(net)


def test_to_sklearn_rejects_user_defined_and_mixed_activations():
    square = Activation("square", f=lambda a: a * a, df=lambda a, z: 2 * a)
    with pytest.raises(ValueError, match="Hidden layer 1 uses the user-defined activation 'square'"):
        to_sklearn(Network([3, 4, 2], activation=square, random_state=0))
    # A user's function that borrows a built-in name is still not the built-in.
    fake_relu = Activation("relu", f=np.abs, df=lambda a, z: np.sign(a))
    with pytest.raises(ValueError, match="user-defined activation 'relu'"):
        to_sklearn(Network([3, 4, 2], activation=fake_relu, random_state=0))
    with pytest.raises(ValueError, match="one activation for all hidden layers"):
        to_sklearn(Network([3, 4, 4, 2], activation=["tanh", "relu"], random_state=0))
    with pytest.raises(TypeError, match="'net'"):
        to_sklearn("not a network")


def test_to_sklearn_checks_classes():
    net = Network([3, 4, 3], random_state=0)
    with pytest.raises(ValueError, match="must list 3 class labels"):
        to_sklearn(net, classes=[0, 1])
    with pytest.raises(ValueError, match="sorted and without repeats"):
        to_sklearn(net, classes=["b", "a", "c"])
    with pytest.raises(ValueError, match="sorted and without repeats"):
        to_sklearn(net, classes=[0, 0, 1])
    with pytest.raises(ValueError, match="must list 2 class labels"):
        to_sklearn(Network([3, 1], output="sigmoid", random_state=0), classes=[0, 1, 2])
    with pytest.raises(ValueError, match="one unit always predicts 1"):
        to_sklearn(Network([3, 1], output="softmax", random_state=0))


# ------------------------------------------------------------------ PyTorch, NumPy only
def test_state_dict_layout_follows_nn_sequential():
    net = Network([3, 5, 4, 2], activation="tanh", random_state=0)
    sd = to_torch_state_dict(net)
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    for h, index in enumerate([0, 2, 4], start=1):
        np.testing.assert_array_equal(sd[f"{index}.weight"], net.W[h - 1])  # (out, in) = (M_h, M_{h-1})
        np.testing.assert_array_equal(sd[f"{index}.bias"], net.b[h - 1])
    sd["0.weight"][0, 0] += 1.0  # copies: the network is untouched
    assert sd["0.weight"][0, 0] != net.W[0][0, 0]


def test_state_dict_round_trip_with_numpy_arrays():
    net = Network([3, 5, 4, 2], activation=["relu", "gelu"], output="sigmoid", random_state=0)
    back = from_torch_state_dict(to_torch_state_dict(net), activation=["relu", "gelu"], output="sigmoid")
    _assert_same_params(back, net)
    X = _X(d=3)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_state_dict_with_named_layers():
    net = Network([3, 4, 2], activation="tanh", output="identity", random_state=0)
    sd = to_torch_state_dict(net, prefix_style=["encoder.fc", "head"])
    assert list(sd) == ["encoder.fc.weight", "encoder.fc.bias", "head.weight", "head.bias"]
    back = from_torch_state_dict(sd, "tanh", "identity", prefix_style=["encoder.fc", "head"])
    _assert_same_params(back, net)
    with pytest.raises(ValueError, match="names 3 layers but the network has D = 2"):
        to_torch_state_dict(net, prefix_style=["a", "b", "c"])
    with pytest.raises(ValueError, match="distinct non-empty"):
        to_torch_state_dict(net, prefix_style=["a", "a"])
    with pytest.raises(ValueError, match="'sequential' or a list"):
        to_torch_state_dict(net, prefix_style="keras")
    with pytest.raises(ValueError, match=re.escape("'encoder.fc.weight' is not of the form")):
        from_torch_state_dict(sd)


def test_sequential_layers_are_read_in_index_order_not_key_order():
    net = Network([2, 3, 3, 1], activation="relu", output="identity", random_state=5)
    sd = to_torch_state_dict(net)
    # Dropout or other parameter-free modules shift the indices; only the order counts.
    shuffled = {"7.bias": sd["4.bias"], "3.weight": sd["2.weight"], "3.bias": sd["2.bias"]}
    shuffled |= {"0.weight": sd["0.weight"], "0.bias": sd["0.bias"], "7.weight": sd["4.weight"]}
    _assert_same_params(from_torch_state_dict(shuffled, "relu", "identity"), net)


def test_from_state_dict_dtype():
    sd = to_torch_state_dict(Network([2, 3, 2], random_state=0, dtype="float32"))
    assert from_torch_state_dict(sd).dtype == np.float32
    assert from_torch_state_dict(sd, dtype="float64").dtype == np.float64


class _FakeTensor:
    """Has the methods of a torch tensor that the conversion may use, and nothing else."""

    def __init__(self, array):
        self.array = np.asarray(array)
        self.calls = []

    def detach(self):
        self.calls.append("detach")
        return self

    def cpu(self):
        self.calls.append("cpu")
        return self

    def numpy(self):
        self.calls.append("numpy")
        return self.array


def test_tensors_are_converted_by_duck_typing():
    net = Network([3, 4, 2], random_state=0)
    tensors = {key: _FakeTensor(value) for key, value in to_torch_state_dict(net).items()}
    _assert_same_params(from_torch_state_dict(tensors), net)
    assert tensors["0.weight"].calls == ["detach", "cpu", "numpy"]


def _valid_state_dict():
    return to_torch_state_dict(Network([3, 4, 2], random_state=0))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda sd: sd.pop("2.bias"), "no key '2.bias' \\(layer 2\\)"),
        (lambda sd: sd.pop("0.weight"), "no key '0.weight' \\(layer 1\\)"),
        (lambda sd: sd.update({"1.running_mean": np.zeros(4)}), "key '1.running_mean' is not of the form"),
        (lambda sd: sd.update({"0.weight": np.ones(12)}), "'0.weight' \\(W\\^\\(1\\)\\) must be 2-D"),
        (lambda sd: sd.update({"0.bias": np.ones(3)}), "'0.bias' \\(b\\^\\(1\\)\\) must have shape \\(4,\\)"),
        (
            lambda sd: sd.update({"2.weight": np.ones((2, 5))}),
            "'2.weight' has in_features 5 but the layer before it \\('0'\\) has out_features 4",
        ),
        (lambda sd: sd.update({"2.bias": np.array([0.0, np.nan])}), "state_dict\\['2.bias'\\] contains NaN"),
    ],
)
def test_from_state_dict_errors_name_the_key(change, message):
    sd = _valid_state_dict()
    change(sd)
    with pytest.raises(ValueError, match=message):
        from_torch_state_dict(sd)


def test_from_state_dict_rejects_empty_and_non_mappings():
    with pytest.raises(ValueError, match="holds no Linear layer"):
        from_torch_state_dict({})
    with pytest.raises(TypeError, match="'state_dict'"):
        from_torch_state_dict([np.ones((2, 2)), np.ones(2)])
    with pytest.raises(TypeError, match="must hold numbers"):
        from_torch_state_dict({"0.weight": np.array([["a"]]), "0.bias": np.zeros(1)})
    sd = {"out.weight": np.ones((1, 2)), "out.bias": np.zeros(1), "norm.running_mean": np.zeros(2)}
    with pytest.raises(ValueError, match=re.escape("keys ['norm.running_mean'] that belong to no Linear")):
        from_torch_state_dict(sd, prefix_style=["out"])
    with pytest.raises(ValueError, match=re.escape("no key 'out.bias'")):
        from_torch_state_dict({"out.weight": np.ones((1, 2))}, prefix_style=["out"])


def test_to_torch_module_without_torch_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(ImportError, match="pip install torch"):
        to_torch_module(Network([2, 2], random_state=0))


def test_the_module_does_not_import_torch():
    import deltaprop.interop as interop
    import deltaprop.interop._sklearn as sklearn_half
    import deltaprop.interop._torch as torch_half

    for module in (interop, torch_half, sklearn_half):
        assert "torch" not in vars(module)


# -------------------------------------------------------------- PyTorch, real tensors
ALL_ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "gelu"]


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
@pytest.mark.parametrize("activation", ALL_ACTIVATIONS)
def test_torch_module_predicts_like_the_network(activation, output):
    torch = pytest.importorskip("torch")
    net = Network([3, 6, 5, 4], activation=activation, output=output, random_state=0)
    # Large inputs reach every branch, Softplus's linear regime (a > 20) included.
    X = np.random.default_rng(1).normal(scale=30.0, size=(40, 3))
    module = to_torch_module(net)
    assert [type(m).__name__ for m in module][0::2][:3] == ["Linear", "Linear", "Linear"]
    with torch.no_grad():
        out = module(torch.from_numpy(X)).numpy()
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, net.predict(X), rtol=1e-12, atol=1e-12)


def test_torch_module_logits_and_float32():
    torch = pytest.importorskip("torch")
    net = Network([3, 5, 2], activation="tanh", output="softmax", random_state=0, dtype="float32")
    module = to_torch_module(net, include_output=False)
    assert len(module) == 3 and module[0].weight.dtype == torch.float32
    X = _X(d=3).astype(np.float32)
    with torch.no_grad():
        logits = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(logits, net.forward(X).a[-1], rtol=1e-5, atol=1e-6)


def test_torch_module_does_not_touch_the_global_generator():
    torch = pytest.importorskip("torch")
    state = torch.get_rng_state()
    to_torch_module(Network([3, 50, 2], random_state=0))
    assert torch.equal(state, torch.get_rng_state())


def test_torch_module_rejects_user_defined_units():
    pytest.importorskip("torch")
    square = Activation("square", f=lambda a: a * a, df=lambda a, z: 2 * a)
    net = Network([3, 4, 4, 2], activation=["relu", square], random_state=0)
    with pytest.raises(ValueError, match="Hidden layer 2 uses the user-defined activation 'square'"):
        to_torch_module(net)


def test_torch_state_dict_round_trip_with_real_tensors():
    torch = pytest.importorskip("torch")
    net = Network([4, 7, 3], activation="relu", output="softmax", random_state=0)
    module = to_torch_module(net)
    state = module.state_dict()
    assert all(isinstance(value, torch.Tensor) for value in state.values())
    _assert_same_params(from_torch_state_dict(state, activation="relu"), net)
    # load_state_dict accepts the NumPy layout once wrapped in tensors.
    other = Network([4, 7, 3], activation="relu", random_state=1)
    target = to_torch_module(other)
    target.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_state_dict(net).items()})
    X = _X()
    with torch.no_grad():
        np.testing.assert_allclose(target(torch.from_numpy(X)).numpy(), net.predict(X), **EXACT)


def test_a_torch_built_model_converts_to_a_network():
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Dropout(0.5), torch.nn.Linear(6, 2)
    ).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    model.eval()  # dropout off
    model[0].weight.requires_grad_(True)  # detach() is needed for such tensors
    net = from_torch_state_dict(model.state_dict(keep_vars=True), activation="tanh", output="identity")
    assert net.sizes == [4, 6, 2] and net.dtype == np.float64
    X = _X()
    with torch.no_grad():
        np.testing.assert_allclose(model(torch.from_numpy(X)).numpy(), net.predict(X), **EXACT)
    bf16 = {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()}
    assert from_torch_state_dict(bf16, activation="tanh").dtype == np.float64
