import numpy as np
import pytest
import sklearn.metrics
from hypothesis import given, settings
from hypothesis import strategies as st

from deltaprop import Network, fit, metrics


@pytest.fixture
def numpy_only(monkeypatch):
    """The metrics as a core-only install computes them: no scikit-learn."""
    monkeypatch.setattr(metrics, "_sklearn_metrics", lambda: None)


def test_r2_of_a_constant_target_follows_scikit_learn():
    y = np.array([2.0, 2.0, 2.0])
    wrong = np.array([1.0, 2.0, 3.0])
    assert metrics.r2(y, wrong) == sklearn.metrics.r2_score(y, wrong) == 0.0
    assert metrics.r2(y, y) == sklearn.metrics.r2_score(y, y) == 1.0


def test_the_numpy_fallback_follows_scikit_learn_on_a_constant_target(numpy_only):
    y = np.array([[2.0, 1.0], [2.0, 2.0], [2.0, 3.0]])
    wrong = y + np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.5]])
    assert metrics.r2(y, wrong) == pytest.approx(sklearn.metrics.r2_score(y, wrong))
    assert metrics.r2(y[:, 0], y[:, 0]) == 1.0


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 12),
    k=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    weighted=st.booleans(),
    constant=st.booleans(),
)
def test_numpy_r2_and_accuracy_equal_scikit_learn(n, k, seed, weighted, constant):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, k))
    if constant:
        y[:, 0] = 1.5
    p = y + rng.normal(scale=0.5, size=(n, k)) * rng.integers(0, 2, (n, k))
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    labels_true, labels_pred = rng.integers(0, 3, n), rng.integers(0, 3, n)
    want_r2 = sklearn.metrics.r2_score(y, p, sample_weight=w)
    want_acc = sklearn.metrics.accuracy_score(labels_true, labels_pred, sample_weight=w)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(metrics, "_sklearn_metrics", lambda: None)
        assert metrics.r2(y, p, w) == pytest.approx(want_r2, rel=1e-12, abs=1e-12)
        assert metrics.accuracy(labels_true, labels_pred, w) == pytest.approx(want_acc)
    assert metrics.r2(y, p, w) == want_r2


def test_multi_label_accuracy_needs_every_label(numpy_only):
    true = np.array([[1, 0], [1, 1]])
    assert metrics.accuracy(true, np.array([[1, 0], [1, 0]])) == 0.5


def test_output_score_per_output_unit():
    F = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert metrics.output_score("softmax", F, np.eye(2)[[0, 1, 1]]) == pytest.approx(2 / 3)
    assert metrics.output_score("sigmoid", F, np.array([[1, 0], [0, 1], [0, 0]])) == pytest.approx(2 / 3)
    Y = np.array([[1.0], [2.0], [3.0]])
    assert metrics.output_score("identity", Y + 0.5, Y) == sklearn.metrics.r2_score(Y, Y + 0.5)


def test_fit_scores_a_constant_validation_target_as_scikit_learn_does():
    # The validation target is constant; a network that does not predict it exactly
    # scores 0.0, as scikit-learn's r2_score (and deltaprop evaluate, and the estimators) says.
    X = np.linspace(-1, 1, 20)[:, None]
    Y = np.full((20, 1), 3.0)
    net = Network([1, 4, 1], activation="tanh", output="identity", random_state=0)
    history = fit(net, X, Y, epochs=2, learning_rate=0.01, validation_data=(X, Y))
    assert history.val_score == [0.0, 0.0]


def test_classification_metrics_are_scikit_learns():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=30)
    y = rng.integers(0, 3, 30)
    m = metrics.classification_metrics(y, proba, ["a", "b", "c"])
    predicted = proba.argmax(axis=1)
    assert m["accuracy"] == sklearn.metrics.accuracy_score(y, predicted)
    assert m["log_loss"] == pytest.approx(sklearn.metrics.log_loss(y, proba))
    assert m["macro_f1"] == pytest.approx(sklearn.metrics.f1_score(y, predicted, average="macro"))
    assert m["confusion_matrix"] == sklearn.metrics.confusion_matrix(y, predicted).tolist()
    assert [row["class"] for row in m["per_class"]] == ["a", "b", "c"]
    # float32 rows of a softmax miss 1 by ~1e-7: no warning, the same numbers to float32 precision
    m32 = metrics.classification_metrics(y, proba.astype(np.float32), ["a", "b", "c"])
    assert m32["log_loss"] == pytest.approx(m["log_loss"], rel=1e-5)


def test_a_class_never_predicted_has_precision_zero_without_a_warning():
    proba = np.array([[0.9, 0.1], [0.8, 0.2]])
    m = metrics.classification_metrics(np.array([0, 1]), proba, [0, 1])
    assert m["per_class"][1]["precision"] == 0.0 and m["per_class"][1]["recall"] == 0.0


def test_regression_metrics():
    m = metrics.regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert m == pytest.approx({"mse": 4 / 3, "rmse": np.sqrt(4 / 3), "mae": 2 / 3, "r2": -1.0})


def test_metrics_that_need_scikit_learn_say_so(numpy_only):
    with pytest.raises(ImportError, match=r"deltaprop\[sklearn\]"):
        metrics.regression_metrics(np.ones(2), np.ones(2))
