import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
import sklearn.neural_network as sk
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop.activations import Activation
from deltaprop.estimators import MLPClassifier, MLPRegressor
from deltaprop.network import Network
from deltaprop.train import Callback, History

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=60, d=5, K=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, n)
    X = rng.normal(size=(n, d)) + 2.0 * np.eye(K, d)[labels]
    return X, labels


def _targets(X):
    return np.column_stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])])


def _sklearn_from(cls, X, y, coefs, intercepts, max_iter, **params):
    """scikit-learn's MLP trained for max_iter epochs from the given weights."""
    model = cls(max_iter=1, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)  # sets up the labels; the weights are replaced below
        model.coefs_ = [c.copy() for c in coefs]
        model.intercepts_ = [b.copy() for b in intercepts]
        model.loss_curve_, model.n_iter_, model.t_ = [], 0, 0
        model._no_improvement_count, model.best_loss_ = 0, np.inf
        model.set_params(warm_start=True, max_iter=max_iter)
        model.fit(X, y)
    return model


def _ours_from(cls, X, y, coefs, intercepts, max_iter, **params):
    """deltaprop's estimator trained for max_iter epochs from the given weights (warm start)."""
    model = cls(max_iter=max_iter, warm_start=True, **params)
    model.coefs_ = [c.copy() for c in coefs]
    model.intercepts_ = [b.copy() for b in intercepts]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _initial_weights(cls, X, y, hidden, activation):
    model = cls(hidden_layer_sizes=hidden, activation=activation, max_iter=1, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model.coefs_, model.intercepts_


def _assert_same_weights(a, b, atol=1e-10):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(p, q, rtol=0, atol=atol)


# ------------------------------------------------------- scikit-learn's trajectories
CASES = [
    (sk.MLPClassifier, MLPClassifier, "multiclass"),
    (sk.MLPClassifier, MLPClassifier, "binary"),
    (sk.MLPRegressor, MLPRegressor, "regression"),
]


def _case_y(kind, X, labels):
    return {"multiclass": labels, "binary": labels % 2, "regression": _targets(X)[:, 0]}[kind]


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
@pytest.mark.parametrize(("sk_cls", "cls", "kind"), CASES)
def test_gd_is_sklearn_full_batch_sgd_without_momentum(sk_cls, cls, kind, activation):
    X, labels = _data()
    y = _case_y(kind, X, labels)
    coefs, intercepts = _initial_weights(sk_cls, X, y, (7, 6), activation)
    common = dict(
        hidden_layer_sizes=(7, 6), activation=activation, alpha=0.01, learning_rate_init=0.1, tol=0.0
    )
    common["n_iter_no_change"] = 100
    ref = _sklearn_from(
        sk_cls,
        X,
        y,
        coefs,
        intercepts,
        40,
        solver="sgd",
        momentum=0.0,
        batch_size=60,
        shuffle=False,
        **common,
    )
    ours = _ours_from(cls, X, y, coefs, intercepts, 40, solver="gd", **common)
    _assert_same_weights(ref, ours)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=0, atol=1e-10)
    assert ours.n_iter_ == ref.n_iter_ == 40
    assert ours.t_ == 40 * 60


SOLVER_SETTINGS = [
    dict(solver="sgd", momentum=0.0),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=False),
    dict(solver="sgd", momentum=0.8, nesterovs_momentum=True),
    dict(solver="adam", beta_1=0.8, beta_2=0.99, epsilon=1e-7),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5, power_t=0.3),
    dict(solver="sgd", learning_rate="adaptive", tol=0.05, n_iter_no_change=2),
    dict(solver="adam", tol=0.05, n_iter_no_change=3),
]


@pytest.mark.parametrize("settings", SOLVER_SETTINGS)
@pytest.mark.parametrize(("sk_cls", "cls", "kind"), CASES)
def test_full_batch_solvers_follow_sklearn(sk_cls, cls, kind, settings):
    X, labels = _data()
    y = _case_y(kind, X, labels)
    coefs, intercepts = _initial_weights(sk_cls, X, y, (7,), "tanh")
    params = dict(hidden_layer_sizes=(7,), activation="tanh", batch_size=60, shuffle=False, alpha=0.01)
    params.update({"learning_rate_init": 0.05, "tol": 0.0, "n_iter_no_change": 100, **settings})
    ref = _sklearn_from(sk_cls, X, y, coefs, intercepts, 30, **params)
    ours = _ours_from(cls, X, y, coefs, intercepts, 30, **params)
    _assert_same_weights(ref, ours)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=0, atol=1e-10)
    assert ours.n_iter_ == ref.n_iter_


def test_adaptive_learning_rate_is_divided_by_five_and_stops_below_1e6():
    X, labels = _data()
    clf = MLPClassifier(
        (5,), solver="gd", learning_rate="adaptive", learning_rate_init=0.1, tol=1e9, n_iter_no_change=1
    )
    clf.fit(X, labels)  # every epoch fails the tolerance: lr /= 5 every 2 epochs until <= 1e-6
    # Epoch 0 improves on inf; epochs 1, 2 fail: lr / 5 after epoch 2; epochs 3, 4 fail: again.
    np.testing.assert_allclose(clf.history_.lr[:6], [0.1, 0.1, 0.1, 0.02, 0.02, 0.004])
    assert clf.history_.lr[-1] <= 1e-6 and clf.n_iter_ < clf.max_iter
    assert clf.history_.stop_reason == "no_improvement"


def test_multi_output_regression_reports_the_loss_of_its_gradient():
    X, _ = _data()
    Y = _targets(X)
    coefs, intercepts = _initial_weights(sk.MLPRegressor, X, Y, (7,), "tanh")
    params = dict(hidden_layer_sizes=(7,), activation="tanh", alpha=0.0, learning_rate_init=0.05)
    params.update(solver="sgd", momentum=0.0, batch_size=60, shuffle=False, tol=0.0, n_iter_no_change=100)
    ref = _sklearn_from(sk.MLPRegressor, X, Y, coefs, intercepts, 10, **params)
    ours = _ours_from(MLPRegressor, X, Y, coefs, intercepts, 10, **params)
    _assert_same_weights(ref, ours)  # the same gradient steps ...
    # ... but scikit-learn averages its reported loss over the K = 2 outputs; ours sums, as the lecture.
    np.testing.assert_allclose(ours.loss_curve_, 2 * np.array(ref.loss_curve_), rtol=1e-12)
    start = Network.from_weights([c.T for c in coefs], intercepts, activation="tanh", output="identity")
    assert ours.loss_curve_[0] == pytest.approx(start.loss(X, Y), rel=1e-12)


@pytest.mark.parametrize(("sk_cls", "cls", "kind"), CASES)
def test_lbfgs_follows_sklearn(sk_cls, cls, kind):
    X, labels = _data()
    y = _case_y(kind, X, labels)
    coefs, intercepts = _initial_weights(sk_cls, X, y, (6,), "tanh")
    params = dict(hidden_layer_sizes=(6,), activation="tanh", solver="lbfgs", alpha=1e-3)
    ref = _sklearn_from(sk_cls, X, y, coefs, intercepts, 15, **params)
    ours = _ours_from(cls, X, y, coefs, intercepts, 15, **params)
    _assert_same_weights(ref, ours, atol=1e-8)
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-10)
    assert ours.n_iter_ == ref.n_iter_ == len(ours.loss_curve_) == 15


def test_lbfgs_warns_when_it_runs_out_of_iterations():
    X, labels = _data()
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier((5,), solver="lbfgs", max_iter=3, random_state=0).fit(X, labels)


# ------------------------------------------------------------------ stopping rules
def test_max_iter_warns_and_a_stall_stops_without_warning():
    X, labels = _data()
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(5\)"):
        MLPClassifier((5,), max_iter=5, random_state=0).fit(X, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = MLPClassifier((5,), tol=1e9, n_iter_no_change=3, random_state=0).fit(X, labels)
    # Epoch 1 improves on inf; scikit-learn stops once more than n_iter_no_change (3) epochs failed.
    assert clf.n_iter_ == 5
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.validation_scores_ is None


def test_early_stopping_keeps_the_best_validation_epoch():
    X, labels = _data(n=200)
    snapshots = []

    def remember(epoch, history, net):
        snapshots.append(net.W[0].copy())

    clf = MLPClassifier(
        (8,), solver="sgd", learning_rate_init=0.2, early_stopping=True, n_iter_no_change=5,
        validation_fraction=0.2, max_iter=500, random_state=0, callbacks=[remember],
    )  # fmt: skip
    clf.fit(X, labels)
    assert clf.n_iter_ < 500 and clf.best_loss_ is None
    assert (
        len(clf.validation_scores_) == len(clf.validation_loss_curve_) == len(clf.loss_curve_) == clf.n_iter_
    )
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    best = int(np.argmax(clf.validation_scores_))
    np.testing.assert_array_equal(clf.coefs_[0], snapshots[best].T)
    assert clf.history_.val_loss == clf.validation_loss_curve_


@quiet
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_score_equal_to_the_best_counts_as_improvement_as_in_sklearn(solver):
    # scikit-learn counts "no improvement" as score < best + tol: with tol=0 an equal score
    # resets the count, so a validation accuracy stuck at its best never stops training.
    X, labels = _data(n=200)
    X = X + 4.0 * np.eye(3, 5)[labels]  # well apart: the validation accuracy reaches 1 and stays
    params = dict(
        hidden_layer_sizes=(6,), solver=solver, early_stopping=True, tol=0.0, n_iter_no_change=2,
        max_iter=25, learning_rate_init=0.05, random_state=0,
    )  # fmt: skip
    ref = sk.MLPClassifier(**params).fit(X, labels)
    ours = MLPClassifier(**params).fit(X, labels)
    assert ref.validation_scores_[-5:] == [1.0] * 5 and ours.validation_scores_[-5:] == [1.0] * 5
    assert ours.n_iter_ == ref.n_iter_ == 25
    assert ours._no_improvement_count == ref._no_improvement_count == 0
    assert ours.best_validation_score_ == ref.best_validation_score_ == 1.0


def test_an_estimator_stops_after_more_than_n_iter_no_change_stalled_epochs_as_sklearn():
    X, labels = _data()
    params = dict(hidden_layer_sizes=(4,), solver="sgd", tol=1e9, n_iter_no_change=4, random_state=0)
    ref = sk.MLPClassifier(**params).fit(X, labels)
    ours = MLPClassifier(**params).fit(X, labels)
    assert ours.n_iter_ == ref.n_iter_ == 1 + 4 + 1  # the first epoch improves on inf, then 5 fail
    assert ours._no_improvement_count == ref._no_improvement_count == 5


def test_early_stopping_needs_two_validation_samples():
    X, _ = _data(n=10)
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPRegressor(hidden_layer_sizes=(3,), early_stopping=True, validation_fraction=0.1).fit(X, X[:, 0])


@quiet
def test_mini_batches_are_seeded():
    X, labels = _data(n=150)
    fits = [
        MLPClassifier((6,), solver="sgd", batch_size=32, max_iter=5, random_state=s).fit(X, labels)
        for s in (3, 3, 4)
    ]
    np.testing.assert_array_equal(fits[0].coefs_[0], fits[1].coefs_[0])
    assert not np.allclose(fits[0].coefs_[0], fits[2].coefs_[0])
    assert fits[0].history_.steps == 5 * 5  # ceil(150 / 32) steps per epoch


def test_batch_size_larger_than_the_data_is_clipped_with_a_warning():
    X, labels = _data(n=30)
    with pytest.warns(UserWarning, match="clipped"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((4,), batch_size=100, max_iter=2, random_state=0).fit(X, labels)
    assert clf.history_.steps == 2


# --------------------------------------------------------------------------- labels
@quiet
def test_string_and_mixed_labels():
    X, labels = _data(n=90, K=4)
    names = np.array(["cat", "dog", "emu", "fox"])
    clf = MLPClassifier((8,), solver="lbfgs", random_state=0).fit(X, names[labels])
    assert clf.classes_.tolist() == names.tolist()
    assert set(clf.predict(X)) <= set(names) and clf.score(X, names[labels]) > 0.9
    mixed = np.array([2, "b", 1, "a"], dtype=object)[labels]
    clf = MLPClassifier((8,), solver="lbfgs", random_state=0).fit(X, mixed)
    assert clf.classes_.tolist() == [1, 2, "a", "b"]  # numbers first, then strings
    assert clf.predict(X).dtype == object and clf.score(X, mixed) > 0.9


@quiet
def test_binary_uses_one_sigmoid_unit_and_multiclass_softmax():
    X, labels = _data()
    binary = MLPClassifier((4,), max_iter=20, random_state=0).fit(X, np.where(labels == 1, "yes", "no"))
    assert (
        binary.n_outputs_ == 1 and binary.out_activation_ == "logistic" and binary.coefs_[-1].shape == (4, 1)
    )
    proba = binary.predict_proba(X)
    assert proba.shape == (60, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(binary.predict(X), binary.classes_[proba.argmax(axis=1)])
    multi = MLPClassifier((4,), max_iter=20, random_state=0).fit(X, labels)
    assert multi.n_outputs_ == 3 and multi.out_activation_ == "softmax"
    np.testing.assert_allclose(multi.predict_proba(X).sum(axis=1), 1.0)


@quiet
def test_multi_label_classification():
    X, labels = _data(n=100)
    Y = np.column_stack([labels == 0, labels != 2, X[:, 3] > 0]).astype(int)
    clf = MLPClassifier((16,), solver="lbfgs", random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.predict(X).shape == (100, 3) and clf.predict_proba(X).shape == (100, 3)
    assert clf.score(X, Y) > 0.9  # every label of a sample right
    with pytest.raises(ValueError, match="class_weight is not supported for multi-label"):
        MLPClassifier(class_weight="balanced").fit(X, Y)


@quiet
def test_predict_log_proba_is_finite_where_proba_rounds_to_zero():
    X, labels = _data()
    for y in (labels, labels % 2):
        clf = MLPClassifier((8,), solver="lbfgs", random_state=0).fit(X, y)
        proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
        # Where 1 - p has lost its digits to rounding, log(proba) is worse than predict_log_proba.
        ok = proba > 1e-6
        np.testing.assert_allclose(log_proba[ok], np.log(proba[ok]), rtol=1e-9, atol=1e-12)
        far = clf.predict_log_proba(1e4 * X)
        assert np.isfinite(far).all()


# ------------------------------------------------------------------ weights of samples
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_integer_sample_weights_equal_repeated_samples(cls):
    X, labels = _data(n=30)
    y = labels if cls is MLPClassifier else _targets(X)[:, 0]
    w = np.random.default_rng(1).integers(1, 4, 30)
    params = dict(hidden_layer_sizes=(5,), solver="gd", learning_rate_init=0.1, max_iter=25, random_state=0)
    with pytest.warns(ConvergenceWarning):
        weighted = cls(**params).fit(X, y, sample_weight=w)
    with pytest.warns(ConvergenceWarning):
        repeated = cls(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w, axis=0))
    _assert_same_weights(weighted, repeated)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-12)


@quiet
def test_class_weight_is_a_sample_weight_per_class():
    X, labels = _data()
    params = dict(hidden_layer_sizes=(5,), solver="gd", learning_rate_init=0.1, max_iter=10, random_state=0)
    by_class = MLPClassifier(class_weight={0: 2.0, 2: 0.5}, **params).fit(X, labels)
    by_sample = MLPClassifier(**params).fit(X, labels, sample_weight=np.array([2.0, 1.0, 0.5])[labels])
    _assert_same_weights(by_class, by_sample, atol=0)
    balanced = MLPClassifier(class_weight="balanced", **params).fit(X, labels, sample_weight=np.full(60, 2.0))
    counts = np.bincount(labels)
    expected = MLPClassifier(**params).fit(X, labels, sample_weight=2 * 60 / (3 * counts[labels]))
    _assert_same_weights(balanced, expected, atol=1e-12)
    with pytest.raises(ValueError, match="names the class 7"):
        MLPClassifier(class_weight={7: 1.0}, **params).fit(X, labels)
    clf = MLPClassifier(class_weight="balanced", **params)
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        clf.partial_fit(X, labels, classes=[0, 1, 2])


# --------------------------------------------------------------------- beyond sklearn
@quiet
def test_transform_returns_each_layers_activations():
    X, labels = _data()
    clf = MLPClassifier((6, 4), activation=["tanh", "relu"], max_iter=5, random_state=0).fit(X, labels)
    z1 = np.tanh(X @ clf.coefs_[0] + clf.intercepts_[0])
    z2 = np.maximum(z1 @ clf.coefs_[1] + clf.intercepts_[1], 0)
    np.testing.assert_allclose(clf.transform(X, layer=1), z1, rtol=1e-12)
    np.testing.assert_allclose(clf.transform(X), z2, rtol=1e-12)  # the last hidden layer by default
    np.testing.assert_allclose(clf.transform(X, layer=3), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.transform(X, layer=0), X)
    assert clf.fit_transform(X, labels).shape == (60, 4)
    for bad in (-1, 4, 1.5):
        with pytest.raises(ValueError, match=r"'layer' parameter must be an int from 0 \(the input\) to 3"):
            clf.transform(X, layer=bad)


@quiet
def test_user_defined_activation_and_one_per_layer():
    X, labels = _data()
    square = Activation("square", f=lambda a: a * a, df=lambda a, z: 2 * a)
    clf = MLPClassifier((4, 3), activation=[square, "gelu"], max_iter=3, random_state=0).fit(X, labels)
    np.testing.assert_allclose(clf.transform(X, layer=1), (X @ clf.coefs_[0] + clf.intercepts_[0]) ** 2)
    with pytest.raises(ValueError, match="lists 3 activations but the network has 2 hidden layers"):
        MLPClassifier((4, 3), activation=["relu"] * 3).fit(X, labels)


def test_history_and_callbacks():
    X, labels = _data()

    class Counter(Callback):
        def __init__(self):
            self.batches = 0

        def on_batch_end(self, step, loss, net):
            self.batches += 1

    counter = Counter()
    clf = MLPClassifier(
        (4,), solver="sgd", batch_size=20, random_state=0,
        callbacks=[counter, lambda epoch, history, net: epoch == 4],
    )  # fmt: skip
    clf.fit(X, labels)
    assert clf.n_iter_ == 5 and counter.batches == 15
    assert isinstance(clf.history_, History) and clf.history_.loss == clf.loss_curve_
    assert clf.history_.stop_reason == "callback"
    seen = []
    MLPClassifier((4,), solver="lbfgs", callbacks=[lambda e, h, n: seen.append(e) or e == 2]).fit(X, labels)
    assert seen == [0, 1, 2]
    with pytest.raises(TypeError, match="Item 0 is a int"):
        MLPClassifier(callbacks=[3]).fit(X, labels)


@quiet
def test_dtype():
    X, labels = _data()
    X32 = X.astype(np.float32)
    assert MLPClassifier((4,), max_iter=2).fit(X32, labels).coefs_[0].dtype == np.float32
    assert MLPClassifier((4,), max_iter=2, dtype="float64").fit(X32, labels).coefs_[0].dtype == np.float64
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, dtype=np.float32).fit(X, X[:, 0])
    assert reg.coefs_[0].dtype == np.float32 and reg.predict(X).dtype == np.float32


@quiet
def test_dataframe_input_records_feature_names():
    pd = pytest.importorskip("pandas")
    X, labels = _data()
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    clf = MLPClassifier((4,), max_iter=3, random_state=0).fit(frame, pd.Series(labels))
    assert clf.feature_names_in_.tolist() == ["x0", "x1", "x2", "x3", "x4"]
    np.testing.assert_array_equal(clf.predict(frame), clf.classes_[clf.predict_proba(frame).argmax(axis=1)])
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(frame.rename(columns={"x0": "other"}))


def test_verbose_shows_the_progress_bar(capsys):
    X, labels = _data()
    MLPClassifier((3,), solver="gd", verbose=True, tol=1e9, n_iter_no_change=2).fit(X, labels)
    assert "epoch 4/200" in capsys.readouterr().out
    MLPClassifier((3,), solver="gd", tol=1e9, n_iter_no_change=2).fit(X, labels)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------------ fit in steps
def test_partial_fit_continues_the_optimiser_state():
    X, labels = _data()
    params = dict(hidden_layer_sizes=(5,), batch_size=60, shuffle=False, random_state=0)
    params.update(tol=0.0, n_iter_no_change=100)
    for solver in ("adam", "sgd", "gd"):
        with pytest.warns(ConvergenceWarning):
            whole = MLPClassifier(solver=solver, max_iter=6, **params).fit(X, labels)
        steps = MLPClassifier(solver=solver, **params)
        for _ in range(6):
            steps.partial_fit(X, labels, classes=[0, 1, 2])
        _assert_same_weights(whole, steps, atol=0)
        assert steps.loss_curve_ == whole.loss_curve_ and steps.t_ == 6 * 60 and steps.n_iter_ == 1


@quiet
def test_warm_start_continues_and_checks_the_classes():
    X, labels = _data()
    clf = MLPClassifier((5,), max_iter=4, warm_start=True, random_state=0).fit(X, labels)
    first = clf.coefs_[0].copy()
    clf.fit(X, labels)
    assert len(clf.loss_curve_) == 8 and clf.n_iter_ == 4 and clf.t_ == 8 * 60
    assert not np.array_equal(first, clf.coefs_[0])
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
        clf.fit(X, labels % 2)
    given = MLPClassifier((5,), warm_start=True)
    given.coefs_, given.intercepts_ = [np.zeros((5, 9)), np.zeros((9, 3))], [np.zeros(9), np.zeros(3)]
    with pytest.raises(ValueError, match=r"coefs_ shapes \[\(5, 9\), \(9, 3\)\], but the data and"):
        given.fit(X, labels)


def test_partial_fit_rules():
    X, labels = _data()
    clf = MLPClassifier((4,))
    with pytest.raises(ValueError, match="classes must be passed on the first call to partial_fit"):
        clf.partial_fit(X, labels)
    with pytest.raises(ValueError, match=r"'classes' parameter must list at least 2 classes. Got \[1\]"):
        clf.partial_fit(X, labels, classes=[1])
    clf.partial_fit(X[labels < 2], labels[labels < 2], classes=[0, 1, 2])  # not every class needed
    assert clf.classes_.tolist() == [0, 1, 2] and clf.n_outputs_ == 3
    clf.partial_fit(X, labels, classes=[2, 1, 0])  # the same classes, in any order
    with pytest.raises(ValueError, match=r"`classes=\[0, 1\]` is not the same as on the last call"):
        clf.partial_fit(X, labels, classes=[0, 1])
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`.*not seen before: \['5'\]"):
        clf.partial_fit(X, np.where(labels == 2, 5, labels))
    with pytest.raises(ValueError, match="X has 4 features, but MLPClassifier is expecting 5 features"):
        clf.partial_fit(X[:, :4], labels)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPClassifier(early_stopping=True).partial_fit(X, labels, classes=[0, 1, 2])
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    reg = MLPRegressor(hidden_layer_sizes=(4,)).partial_fit(X, X[:, 0]).partial_fit(X, X[:, 0])
    assert reg.t_ == 120


# ------------------------------------------------------------------- interop
@quiet
def test_pipeline_grid_search_cross_validation_clone():
    X, labels = _data(n=90)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), solver="lbfgs", random_state=0))
    assert cross_val_score(pipe, X, labels, cv=3).mean() > 0.7  # chance is 1/3
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1.0]}, cv=3).fit(X, labels)
    assert search.best_params_["mlpclassifier__alpha"] in (1e-4, 1.0)
    clf = MLPClassifier((3, 2), activation=["tanh", "relu"], class_weight="balanced").fit(X, labels)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "coefs_")


@quiet
def test_skops_round_trip_trusts_only_deltaprops_classes(tmp_path):
    sio = pytest.importorskip("skops.io")
    X, labels = _data()
    models = [
        MLPClassifier((4,), max_iter=5, random_state=0).fit(X, np.array(["a", 1, "b"], dtype=object)[labels]),
        MLPClassifier((4,), solver="sgd", early_stopping=True, max_iter=5, random_state=0).fit(X, labels),
        MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5, random_state=0).fit(X, _targets(X)),
    ]
    for model in models:
        path = tmp_path / "model.skops"
        sio.dump(model, path)
        untrusted = sio.get_untrusted_types(file=path)
        assert all(name.startswith("deltaprop.") for name in untrusted)
        loaded = sio.load(path, trusted=untrusted)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        assert loaded.history_ == model.history_


@quiet
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression"])
def test_export_to_and_import_from_sklearn_and_torch(kind):
    X, labels = _data(n=80)
    y = {
        "multiclass": labels,
        "binary": np.where(labels == 1, "b", "a"),
        "multilabel": np.column_stack([labels == 0, X[:, 1] > 0]).astype(int),
        "regression": _targets(X),
    }[kind]
    cls = MLPRegressor if kind == "regression" else MLPClassifier
    ours = cls(hidden_layer_sizes=(6,), activation="tanh", solver="lbfgs", max_iter=30, random_state=0).fit(
        X, y
    )
    expected = ours.predict_proba(X) if cls is MLPClassifier else ours.predict(X)
    mlp = ours.to_sklearn()
    assert isinstance(mlp, getattr(sk, cls.__name__))
    got = mlp.predict_proba(X) if cls is MLPClassifier else mlp.predict(X)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    back = cls.from_sklearn(mlp)
    assert back.activation == "tanh" and back.solver == "lbfgs"
    np.testing.assert_array_equal(back.predict(X), ours.predict(X))
    state = ours.to_torch_state_dict()
    assert state["0.weight"].shape == (6, 5) and state["2.weight"].shape == (ours.n_outputs_, 6)
    output = {"multiclass": "softmax", "binary": "sigmoid", "multilabel": "sigmoid", "regression": None}[kind]
    classes = ours.classes_ if kind in ("multiclass", "binary") else None
    torch_back = cls.from_torch_state_dict(state, activation="tanh", output=output, classes=classes)
    np.testing.assert_array_equal(torch_back.predict(X), ours.predict(X))


def test_from_network_predicts_and_trains_on():
    X, labels = _data()
    net = Network([5, 4, 3], activation="tanh", output="softmax", random_state=0)
    clf = MLPClassifier.from_network(net, classes=["a", "b", "c"], solver="sgd")
    np.testing.assert_allclose(clf.predict_proba(X), net.predict(X))
    clf.partial_fit(X, np.array(["a", "b", "c"])[labels])
    assert clf.t_ == 60 and not np.allclose(clf.coefs_[0], net.W[0].T)
    two = Network([5, 2], output="softmax", random_state=0)  # a 2-unit softmax stays one
    binary = MLPClassifier.from_network(two, warm_start=True, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        binary.fit(X, labels % 2)
    assert binary.out_activation_ == "softmax" and binary.coefs_[0].shape == (5, 2)
    with pytest.raises(ValueError, match="must be sorted"):
        MLPClassifier.from_network(net, classes=["c", "b", "a"])
    with pytest.raises(ValueError, match=r"must list 3 distinct labels .*Got \['a', 'a', 'b'\]"):
        MLPClassifier.from_network(net, classes=["a", "a", "b"])
    multilabel = Network([5, 3], output="sigmoid", random_state=0)
    assert MLPClassifier.from_network(multilabel).classes_.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"multi-label network \(3 sigmoid units\) names its labels 0..2"):
        MLPClassifier.from_network(multilabel, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"needs a softmax output with at least 2 units .* has 1 'softmax'"):
        MLPClassifier.from_network(Network([5, 1], output="softmax", random_state=0))
    with pytest.raises(ValueError, match="regressor needs an identity output"):
        MLPRegressor.from_network(net)
    with pytest.raises(TypeError, match="come from the network"):
        MLPClassifier.from_network(net, activation="relu")


# ------------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_unfitted_estimators_raise_not_fitted(cls):
    X, _ = _data()
    methods = ["predict", "transform", "to_network"] + (["predict_proba"] if cls is MLPClassifier else [])
    for method in methods:
        with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not fitted yet"):
            getattr(cls(), method)(X) if method != "to_network" else cls().to_network()


@quiet
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_bad_data(cls):
    X, labels = _data()
    y = labels if cls is MLPClassifier else X[:, 0]
    model = cls(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match=f"X has 4 features, but {cls.__name__} is expecting 5 features"):
        model.predict(X[:, :4])
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        cls().fit(bad, y)
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        model.predict(bad)
    with pytest.raises(ValueError, match="Input y contains"):
        cls().fit(X, np.where(np.arange(60) == 5, np.nan, y.astype(float)))
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        cls().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="requires y to be passed"):
        cls().fit(X, None)


def test_one_class_and_regression_targets_are_refused_by_the_classifier():
    X, labels = _data()
    with pytest.raises(ValueError, match="at least 2 classes; y holds one class only: \\['spam'\\]"):
        MLPClassifier().fit(X, ["spam"] * 60)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLPClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="indicator matrix; got a 2-D y of type 'multiclass-multioutput'"):
        MLPClassifier().fit(X, np.column_stack([labels, labels]))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"activation": "softplus2"}, r"'activation' parameter of MLPClassifier must be .*Got 'softplus2'"),
        (
            {"solver": "newton"},
            r"'solver' parameter of MLPClassifier must be a str among .*'gd'.*Got 'newton'",
        ),
        ({"alpha": -1.0}, r"'alpha' parameter of MLPClassifier must be a float in the range \[0.0, inf\)"),
        (
            {"momentum": 1.0},
            r"'momentum' parameter of MLPClassifier must be a float in the range \[0.0, 1.0\)",
        ),
        ({"batch_size": 0}, r"'batch_size' parameter of MLPClassifier must be"),
        ({"dtype": "float16"}, r"'dtype' parameter of MLPClassifier must be .*Got 'float16'"),
        ({"class_weight": "even"}, r"'class_weight' parameter of MLPClassifier must be .*Got 'even'"),
        ({"max_iter": 0}, r"'max_iter' parameter of MLPClassifier must be an int in the range \[1, inf\)"),
        (
            {"hidden_layer_sizes": (3, 0)},
            r"'hidden_layer_sizes' parameter of MLPClassifier must hold positive",
        ),
    ],
)
def test_invalid_parameters_name_the_parameter_and_the_allowed_values(params, match):
    X, labels = _data()
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X, labels)


def test_divergence_is_a_clear_error():
    X, _ = _data()
    reg = MLPRegressor(
        hidden_layer_sizes=(5,), solver="gd", learning_rate_init=50.0, max_iter=200, random_state=0
    )
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        reg.fit(100 * X, 100 * X[:, 0] ** 2)


@quiet
def test_warm_start_may_switch_early_stopping():
    X, labels = _data(n=100)
    clf = MLPClassifier((4,), max_iter=3, warm_start=True, random_state=0).fit(X, labels)
    clf.set_params(early_stopping=True).fit(X, labels)
    assert len(clf.validation_scores_) == 3 and clf.best_loss_ is None
    clf.set_params(early_stopping=False).fit(X, labels)
    assert clf.best_loss_ == min(clf.loss_curve_) and len(clf.loss_curve_) == 9
