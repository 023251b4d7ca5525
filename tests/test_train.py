import warnings

import numpy as np
import pytest

from deltaprop import DivergenceError, Network, gradient_descent
from deltaprop.optim import adam


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


# ----------------------------------------------------------------------- fit
from deltaprop.train import Callback, History, Trainer, fit  # noqa: E402


def test_fit_full_batch_gd_equals_gradient_descent():
    X, labels = _blobs()
    Y = np.eye(3)[labels]
    a = Network([4, 5, 3], activation="tanh", random_state=0)
    b = a.copy()
    history = fit(a, X, Y, optimizer="gd", learning_rate=0.3, l2=0.01, epochs=20)
    losses = gradient_descent(b, X, Y, lr=0.3, l2=0.01, steps=20)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    for p, q in zip(a.W + a.b, b.W + b.b, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12)
    assert history.steps == 20 and history.epochs == 20
    assert len(history.grad_norms) == 20 and len(history.grad_norms[0]) == 2
    assert history.lr == [0.3] * 20


def test_minibatches_cover_every_sample_exactly_once():
    X = np.arange(23, dtype=float)[:, None]
    Y = X.copy()
    seen = []

    class Recorder(Callback):
        def on_batch_end(self, step, loss, net):
            return None

    net = Network([1, 1], output="identity", random_state=0)
    trainer = Trainer(net, optimizer="gd", learning_rate=1e-4)
    original = trainer._step

    def spy(Xb, Yb, sb):
        seen.append(Xb[:, 0].copy())
        return original(Xb, Yb, sb)

    trainer._step = spy
    fit(net, X, Y, optimizer=trainer, epochs=2, batch_size=5, random_state=0, callbacks=[Recorder()])
    assert [len(b) for b in seen] == [5, 5, 5, 5, 3] * 2
    first, second = np.concatenate(seen[:5]), np.concatenate(seen[5:])
    np.testing.assert_array_equal(np.sort(first), X[:, 0])
    np.testing.assert_array_equal(np.sort(second), X[:, 0])
    assert not np.array_equal(first, second)  # reshuffled each epoch


def test_callers_arrays_are_unchanged_and_full_batch_does_not_copy():
    X, labels = _blobs()
    Y = np.eye(3)[labels]
    X0, Y0 = X.copy(), Y.copy()
    net = Network([4, 5, 3], random_state=0)
    seen = []
    trainer = Trainer(net)
    original = trainer._step
    trainer._step = lambda Xb, Yb, sb: (seen.append(Xb), original(Xb, Yb, sb))[1]
    fit(net, X, Y, optimizer=trainer, epochs=2)
    # The lecture's batch GD works on X itself: no copy, not even of a part.
    assert all(b.shape == X.shape and np.shares_memory(b, X) for b in seen)
    fit(net, X, Y, epochs=3, batch_size=7, random_state=1)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


def test_same_seed_same_weights_bit_for_bit():
    X, labels = _blobs(n=100)
    Y = np.eye(3)[labels]
    runs = []
    for _ in range(2):
        net = Network([4, 8, 3], random_state=5)
        fit(
            net,
            X,
            Y,
            optimizer="adam",
            learning_rate=0.01,
            epochs=5,
            batch_size=16,
            validation_fraction=0.2,
            random_state=7,
        )
        runs.append(net)
    for p, q in zip(runs[0].W + runs[0].b, runs[1].W + runs[1].b, strict=True):
        np.testing.assert_array_equal(p, q)


def test_early_stopping_restores_best_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    Y = rng.normal(size=(40, 1))  # pure noise: validation loss soon rises
    X_val, Y_val = rng.normal(size=(40, 5)), rng.normal(size=(40, 1))
    net = Network([5, 64, 1], activation="relu", output="identity", random_state=0)
    snapshots = {}

    def remember(epoch, history, net):
        snapshots[epoch] = [w.copy() for w in net.W]

    history = fit(
        net,
        X,
        Y,
        optimizer="adam",
        learning_rate=0.01,
        epochs=500,
        validation_data=(X_val, Y_val),
        early_stopping=True,
        n_iter_no_change=5,
        callbacks=[remember],
    )
    assert history.stop_reason == "no_improvement"
    assert history.epochs < 500
    best = int(np.argmin(history.val_loss))
    assert history.best_epoch == best
    assert history.epochs - 1 - best >= 5
    for w, snap in zip(net.W, snapshots[best], strict=True):
        np.testing.assert_array_equal(w, snap)
    assert net.loss(X_val, Y_val) == pytest.approx(min(history.val_loss))


def test_validation_split_is_stratified():
    X, labels = _blobs(n=300)
    Y = np.eye(3)[labels]
    history = fit(Network([4, 3], random_state=0), X, Y, epochs=2, validation_fraction=0.2, random_state=0)
    assert len(history.val_loss) == 2 and len(history.val_score) == 2
    from deltaprop.train import split_validation

    train, val = split_validation(300, 0.2, np.random.default_rng(0), labels=labels)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 300
    for k in range(3):
        share = (labels[val] == k).mean()
        assert abs(share - (labels == k).mean()) < 0.02


def test_callback_can_stop_and_function_callbacks():
    X, labels = _blobs()
    calls = []

    def stop_at_three(epoch, history, net):
        calls.append(epoch)
        return epoch == 2

    history = fit(Network([4, 3], random_state=0), X, np.eye(3)[labels], epochs=10, callbacks=[stop_at_three])
    assert calls == [0, 1, 2]
    assert history.stop_reason == "callback" and history.epochs == 3


def test_keyboard_interrupt_keeps_weights():
    X, labels = _blobs()
    net = Network([4, 3], random_state=0)

    class Interrupt(Callback):
        def on_batch_end(self, step, loss, net):
            if step == 4:
                self.weights = [w.copy() for w in net.W]
                raise KeyboardInterrupt

    cb = Interrupt()
    history = fit(net, X, np.eye(3)[labels], epochs=10, callbacks=[cb])
    assert history.stop_reason == "interrupted"
    for w, saved in zip(net.W, cb.weights, strict=True):
        np.testing.assert_array_equal(w, saved)


def test_fit_divergence_keeps_last_finite_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)) * 100
    Y = rng.normal(size=(64, 1)) * 100
    net = Network([3, 8, 1], activation="identity", output="identity", random_state=0)
    with pytest.raises(DivergenceError, match="lower learning rate"):
        fit(net, X, Y, learning_rate=10.0, epochs=100, batch_size=16, random_state=0)
    assert all(np.isfinite(p).all() for p in net.W + net.b)


def _fit_in_chunks(monkeypatch, net, X, Y, **kwargs):
    """fit on the reference path, recording how many epochs each of its chunks held."""
    from deltaprop.train import _fit

    monkeypatch.setattr(_fit._Chunks, "SECONDS", 60.0)  # after the first epoch, the rest in one chunk
    counts = []
    real = _fit._Chunks._python_epochs

    def counting(self, count):
        counts.append(count)
        return real(self, count)

    monkeypatch.setattr(_fit._Chunks, "_python_epochs", counting)
    trainer = Trainer(net, kwargs.pop("optimizer", "adam"), kwargs.pop("learning_rate", 0.01), path="numpy")
    return fit(net, X, Y, optimizer=trainer, random_state=0, **kwargs), counts


@pytest.mark.parametrize("batch_size", [None, 7])
def test_the_reference_runs_unwatched_epochs_together_with_the_bits_of_one_at_a_time(monkeypatch, batch_size):
    X, labels = _blobs(n=40)
    Y = np.eye(3)[labels]
    runs = {}
    for watched in (False, True):
        net = Network([4, 6, 3], activation="tanh", random_state=0)
        callbacks = [lambda epoch, history, net: False] if watched else []  # looks at every epoch
        history, counts = _fit_in_chunks(
            monkeypatch, net, X, Y, epochs=12, batch_size=batch_size, callbacks=callbacks
        )
        runs[watched] = net, history, counts
    (together, a, counts_a), (alone, b, counts_b) = runs[False], runs[True]
    assert counts_a == [1, 11] and counts_b == []
    for x, y in zip(together.W + together.b, alone.W + alone.b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a == b and a.epochs == 12 and a.best_epoch == int(np.argmin(a.loss))


def test_ctrl_c_inside_a_chunk_of_epochs_keeps_the_epochs_before_it(monkeypatch):
    X, labels = _blobs(n=40)
    Y = np.eye(3)[labels]
    full = Network([4, 6, 3], random_state=0)
    complete, _ = _fit_in_chunks(monkeypatch, full, X, Y, epochs=12)
    net = Network([4, 6, 3], random_state=0)
    real_step = Trainer._step
    weights = []

    def step(self, Xb, Yb, s):
        if self.steps == 5:  # the full batch: five epochs done, the sixth interrupted
            weights.extend(w.copy() for w in self.net.W)
            raise KeyboardInterrupt
        return real_step(self, Xb, Yb, s)

    monkeypatch.setattr(Trainer, "_step", step)
    history, counts = _fit_in_chunks(monkeypatch, net, X, Y, epochs=12)
    assert counts == [1, 11] and history.stop_reason == "interrupted"
    assert history.epochs == history.steps == 5 and history.loss == complete.loss[:5]
    assert history.grad_norms == complete.grad_norms[:5] and history.lr == complete.lr[:5]
    for w, saved in zip(net.W, weights, strict=True):
        np.testing.assert_array_equal(w, saved)


def test_divergence_inside_a_chunk_of_epochs_keeps_the_epochs_before_it(monkeypatch):
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(40, 4)), rng.normal(size=(40, 3))
    seen = {}
    for watched in (False, True):
        net = Network([4, 8, 3], activation="relu", output="identity", random_state=0)
        history = History()
        callbacks = [lambda epoch, history, net: False] if watched else []
        with pytest.raises(DivergenceError, match="training diverged"):
            _fit_in_chunks(
                monkeypatch, net, X, Y, optimizer="gd", learning_rate=3.0, epochs=50, history=history,
                callbacks=callbacks,  # full-batch steps that diverge in the ninth epoch
            )  # fmt: skip
        seen[watched] = net, history
    (a, history_a), (b, history_b) = seen[False], seen[True]
    assert history_a == history_b and history_a.epochs == history_a.steps == 8
    for x, y in zip(a.W + a.b, b.W + b.b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_trainer_step_on_a_stream_matches_fit_without_shuffle():
    X, labels = _blobs(n=40)
    Y = np.eye(3)[labels]
    a = Network([4, 6, 3], random_state=0)
    b = a.copy()
    trainer = Trainer(a, optimizer="momentum", learning_rate=0.05)
    for start in range(0, 40, 10):
        trainer.step(X[start : start + 10], Y[start : start + 10])
    fit(b, X, Y, optimizer="momentum", learning_rate=0.05, epochs=1, batch_size=10, shuffle=False)
    for p, q in zip(a.W + a.b, b.W + b.b, strict=True):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="X has 2 columns"):
        trainer.step(X[:, :2], Y)


def test_fit_bad_arguments():
    X, labels = _blobs()
    Y = np.eye(3)[labels]
    net = Network([4, 3], random_state=0)
    with pytest.raises(ValueError, match="'batch_size'"):
        fit(net, X, Y, batch_size=0)
    with pytest.raises(ValueError, match="'monitor'"):
        fit(net, X, Y, monitor="accuracy")
    with pytest.raises(ValueError, match="needs validation data"):
        fit(net, X, Y, monitor="val_loss")
    with pytest.raises(ValueError, match="'validation_fraction'"):
        fit(net, X, Y, validation_fraction=1.5)
    with pytest.raises(ValueError, match="either"):
        fit(net, X, Y, validation_fraction=0.2, validation_data=(X, Y))
    with pytest.raises(TypeError, match="'optimizer'"):
        fit(net, X, Y, optimizer=3)


def test_a_learning_rate_with_a_gradient_transformation_is_an_error_not_ignored():
    X, labels = _blobs()
    net = Network([4, 3], random_state=0)
    with pytest.raises(TypeError, match="carries its own learning rate and would ignore it"):
        Trainer(net, adam(0.01), learning_rate=0.5)
    with pytest.raises(TypeError, match="carries its own learning rate"):
        fit(net, X, np.eye(3)[labels], optimizer=adam(0.01), learning_rate=0.5, epochs=1)
    fit(net, X, np.eye(3)[labels], optimizer=adam(0.01), epochs=1)  # its own rate: fine


def test_verbose_shows_a_progress_bar(capsys):
    X, labels = _blobs()
    fit(Network([4, 3], random_state=0), X, np.eye(3)[labels], epochs=3, verbose=True)
    shown = capsys.readouterr().out
    assert "epoch 3/3" in shown
    assert "training on the reference NumPy path (the work is too small" in shown  # which path runs
    net = Network([4, 3], random_state=0)
    fit(net, X, np.eye(3)[labels], optimizer=Trainer(net, path="engine"), epochs=2, verbose=True)
    said = "training in the compiled engine (whole epochs per compiled call)"
    assert said in capsys.readouterr().out
    fit(Network([4, 3], random_state=0), X, np.eye(3)[labels], epochs=3)
    assert capsys.readouterr().out == ""


def test_history_records_validation_score_for_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    Y = (X[:, :1] - 2 * X[:, 1:]) + 0.01 * rng.normal(size=(200, 1))
    history = fit(
        Network([2, 1], output="identity", random_state=0),
        X,
        Y,
        epochs=100,
        learning_rate=0.1,
        validation_fraction=0.25,
        random_state=0,
    )
    assert history.val_score[-1] > 0.99  # R^2
    assert isinstance(history, History)


# ------------------------------------------------------------- the fast path
from deltaprop.network import Params  # noqa: E402
from deltaprop.optim import GradientTransformation, by_name  # noqa: E402


@pytest.mark.parametrize("name", ["gd", "sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_in_place_training_equals_the_pure_update_bit_for_bit(name, dtype):
    X, labels = _blobs(n=90)
    Y = np.eye(3)[labels]
    weights = np.random.default_rng(1).uniform(0.5, 1.5, 90)
    nets, histories = [], []
    for in_place in (True, False):
        opt = by_name(name, 0.05)
        if not in_place:
            opt = GradientTransformation(opt.init, opt.update)
        net = Network([4, 8, 6, 3], activation="relu", random_state=0, dtype=dtype)
        histories.append(
            fit(
                net,
                X,
                Y,
                optimizer=opt,
                l2=1e-3,
                epochs=4,
                batch_size=16,
                sample_weight=weights,
                validation_fraction=0.2,
                random_state=2,
            )
        )
        nets.append(net)
    for p, q in zip(nets[0].W + nets[0].b, nets[1].W + nets[1].b, strict=True):
        np.testing.assert_array_equal(p, q)
    for field in ("loss", "grad_norms", "val_loss", "val_score"):  # lr is NaN for a custom optimiser
        assert getattr(histories[0], field) == getattr(histories[1], field)


def test_trainer_state_is_the_optimiser_structure_and_can_be_replaced():
    X, labels = _blobs(n=40)
    Y = np.eye(3)[labels]
    net = Network([4, 6, 3], random_state=0)
    twin = net.copy()
    trainer = Trainer(net, optimizer="momentum", learning_rate=0.05)
    reference = Trainer(twin, optimizer=GradientTransformation(*trainer.optimizer[:2]))
    for start in range(0, 20, 10):
        trainer.step(X[start : start + 10], Y[start : start + 10])
        reference.step(X[start : start + 10], Y[start : start + 10])
    state = trainer.state
    assert state.step == 2
    assert [v.shape for v in state.velocity.W] == [w.shape for w in net.W]
    for got, want in zip(state.velocity.W, reference.state.velocity.W, strict=True):
        np.testing.assert_array_equal(got, want)
    # Replacing the state and the parameters from outside (as a checkpoint does) is picked up.
    trainer.state = reference.state._replace(
        velocity=Params(*([v.copy() for v in part] for part in reference.state.velocity))
    )
    net.params = Params([w.copy() for w in twin.W], [v.copy() for v in twin.b])
    for start in range(20, 40, 10):
        trainer.step(X[start : start + 10], Y[start : start + 10])
        reference.step(X[start : start + 10], Y[start : start + 10])
    for p, q in zip(net.W + net.b, twin.W + twin.b, strict=True):
        np.testing.assert_array_equal(p, q)


def test_engine_grows_its_arrays_for_a_larger_batch_and_keeps_the_networks_own():
    X, labels = _blobs(n=40)
    Y = np.eye(3)[labels]
    net = Network([4, 6, 3], random_state=0)
    own = list(net.W + net.b)
    trainer = Trainer(net, optimizer="adam", learning_rate=0.01, path="engine")
    reference = Trainer(twin := net.copy(), optimizer="adam", learning_rate=0.01, path="numpy")
    for rows in (slice(0, 5), slice(5, 30), slice(30, 40)):
        trainer.step(X[rows], Y[rows])
        reference.step(X[rows], Y[rows])
    engine = trainer._engine
    assert engine is not None and engine.workspace is not None and engine.workspace.rows_allocated == 25
    # net.W and net.b are the network's own arrays, written in place, never the engine's views
    assert all(x is y for x, y in zip(net.W + net.b, own, strict=True))
    assert not any(np.shares_memory(x, engine.workspace.flat_p) for x in net.W + net.b)
    for p, q in zip(net.W + net.b, twin.W + twin.b, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


def test_validation_loss_includes_the_same_penalty_as_the_training_loss():
    X, labels = _blobs(n=60)
    Y = np.eye(3)[labels]
    net = Network([4, 5, 3], random_state=0)
    history = fit(net, X[:40], Y[:40], l2=0.1, epochs=3, validation_data=(X[40:], Y[40:]), random_state=0)
    assert history.val_loss[-1] == pytest.approx(net.loss(X[40:], Y[40:], l2=0.1), rel=1e-12)
    assert history.val_loss[-1] > net.loss(X[40:], Y[40:])  # the penalty is in it


# ------------------------------------------------------------ History <-> JSON
def test_history_json_round_trips_non_finite_values():
    import json
    import math

    h = History(
        loss=[1.0, math.inf, math.nan],
        val_loss=[-math.inf],
        val_score=[0.5],
        lr=[math.nan],
        grad_norms=[[1.0, math.inf], [math.nan, 2.0]],
        best_epoch=0,
        stop_reason="callback",
        steps=7,
    )
    back = History.from_json(json.loads(json.dumps(h.to_json(), allow_nan=False)))
    assert back.loss[:2] == [1.0, math.inf] and math.isnan(back.loss[2])
    assert back.val_loss == [-math.inf] and math.isnan(back.lr[0])
    assert back.grad_norms[0] == [1.0, math.inf] and math.isnan(back.grad_norms[1][0])
    assert (back.best_epoch, back.stop_reason, back.steps) == (0, "callback", 7)


def test_history_json_reads_none_as_nan_as_older_files_wrote():
    back = History.from_json({"loss": [1.0, None], "grad_norms": [[None]]})
    assert back.loss[0] == 1.0 and np.isnan(back.loss[1]) and np.isnan(back.grad_norms[0][0])


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ([1, 2], "must be a JSON object"),
        ({"loss": "high"}, "loss must be a list"),
        ({"loss": ["x"]}, "loss holds 'x', which is not a number"),
        ({"grad_norms": [1.0]}, "grad_norms must be a list"),
        ({"steps": -1}, "steps must be a non-negative integer"),
        ({"best_epoch": "3"}, "best_epoch must be an integer"),
    ],
)
def test_history_json_names_what_is_malformed(stored, message):
    with pytest.raises(ValueError, match=message):
        History.from_json(stored)


# ------------------------------------------------------------ the one splitter
def test_split_validation_keeps_one_row_of_each_class_when_asked():
    from deltaprop.train import split_validation

    labels = np.array([0, 1, 1, 2, 2, 2, 2, 2])
    _, val = split_validation(8, 0.9, np.random.default_rng(0), labels=labels)
    assert 0 in labels[val]  # round(0.9 * 1) = 1: the only row of class 0 is held out
    train, val = split_validation(8, 0.9, np.random.default_rng(0), labels=labels, keep_one_per_class=True)
    assert set(labels[train].tolist()) == {0, 1, 2}


def test_split_validation_as_scikit_learn_splits():
    from sklearn.model_selection import train_test_split

    from deltaprop.train import split_validation

    labels = np.random.default_rng(1).integers(0, 3, 50)
    train, val = split_validation(50, 0.2, np.random.default_rng(7), labels=labels, scikit_learn=True)
    seed = int(np.random.default_rng(7).integers(np.iinfo(np.int32).max))
    want_train, want_val = train_test_split(np.arange(50), test_size=0.2, random_state=seed, stratify=labels)
    np.testing.assert_array_equal(train, want_train)
    np.testing.assert_array_equal(val, want_val)


def test_split_validation_is_seeded_and_disjoint():
    from deltaprop.train import split_validation

    a = split_validation(40, 0.25, np.random.default_rng(3))
    b = split_validation(40, 0.25, np.random.default_rng(3))
    np.testing.assert_array_equal(a[1], b[1])
    assert len(a[1]) == 10 and sorted([*a[0], *a[1]]) == list(range(40))


# ------------------------------------------------ what other training loops share
def test_as_callback_wraps_functions_and_rejects_the_rest():
    from deltaprop.train import as_callback

    cb = as_callback(lambda epoch, history, net: epoch == 1)
    assert isinstance(cb, Callback) and cb.on_epoch_end(1, History(), None) is True
    assert cb.on_batch_end(0, 0.5, None) is None
    with pytest.raises(TypeError, match=r"must be a deltaprop\.train\.Callback or a function"):
        as_callback(3)


def test_progress_bar_counts_and_is_silent_when_disabled(capsys):
    from deltaprop.train import ProgressBar

    with ProgressBar(2) as bar:
        bar.advance("loss 0.5")
        bar.advance("loss 0.25")
    out = capsys.readouterr().out
    assert "epoch 2/2" in out and "loss 0.25" in out
    with ProgressBar(2, enabled=False) as bar:
        bar.advance("loss 0.5")
    assert capsys.readouterr().out == ""


# ------------------------------------------------------- an epoch cut short
def _stopped_after(batches_run, sample_weight=None):
    """fit stopped by a callback after ``batches_run`` of 10 batches, and what each step returned."""
    X, labels = _blobs(n=60)
    net = Network([4, 5, 3], activation="tanh", random_state=0)
    trainer = Trainer(net, optimizer="gd", learning_rate=0.1)
    steps = []
    original = trainer._step

    def spy(Xb, Yb, sb):
        loss, grads = original(Xb, Yb, sb)
        weight = len(Xb) if sb is None else float(sb.sum())
        steps.append((loss, weight, [float(np.linalg.norm(g)) for g in grads.W]))
        return loss, grads

    class StopAfter(Callback):
        def on_batch_end(self, step, loss, net):
            return step == batches_run

    trainer._step = spy
    history = fit(
        net,
        X,
        np.eye(3)[labels],
        optimizer=trainer,
        epochs=5,
        batch_size=6,
        shuffle=False,
        sample_weight=sample_weight,
        callbacks=[StopAfter()],
    )
    return history, steps


@pytest.mark.parametrize("batches_run", [1, 3])
def test_grad_norms_average_over_the_batches_that_ran(batches_run):
    history, steps = _stopped_after(batches_run)
    assert history.stop_reason == "callback" and history.epochs == 1 and len(steps) == batches_run
    want = np.mean([norms for _, _, norms in steps], axis=0)
    np.testing.assert_allclose(history.grad_norms[0], want, rtol=1e-12)
    if batches_run == 1:  # not a tenth of it, as when divided by all 10 batches of the epoch
        np.testing.assert_allclose(history.grad_norms[0], steps[0][2], rtol=1e-12)


def test_epoch_loss_is_the_weighted_mean_of_the_batches_that_ran():
    weights = np.random.default_rng(4).uniform(0.5, 2.0, 60)
    history, steps = _stopped_after(3, sample_weight=weights)
    losses, batch_weights = np.array([s[0] for s in steps]), np.array([s[1] for s in steps])
    assert history.loss[0] == pytest.approx(np.sum(losses * batch_weights) / np.sum(batch_weights), rel=1e-12)
    np.testing.assert_allclose(batch_weights, [weights[i : i + 6].sum() for i in (0, 6, 12)], rtol=1e-12)


# ------------------------------------------------------------- the stopping rule
from deltaprop.train import StoppingRule  # noqa: E402


def test_stopping_rule_counts_epochs_that_do_not_beat_the_best_by_tol():
    rule = StoppingRule(tol=0.1, patience=2)
    assert rule.best == np.inf and not rule.patience_used_up
    assert rule.update(1.0, epoch=0) and rule.no_improvement == 0
    assert rule.update(0.95, epoch=1)  # a new best, but not by more than tol ...
    assert rule.no_improvement == 1 and rule.best_epoch == 1  # ... so it counts as no improvement
    assert not rule.update(2.0, epoch=2) and rule.patience_used_up
    rule.restart_patience()
    assert rule.no_improvement == 0 and not rule.patience_used_up
    assert rule.update(0.5, epoch=3) and rule.no_improvement == 0 and rule.best == 0.5


def test_stopping_rule_maximizes_a_score():
    rule = StoppingRule(maximize=True, tol=0.0, patience=1)
    assert rule.best == -np.inf
    assert rule.update(0.5) and not rule.update(0.5) and rule.patience_used_up
    assert rule.update(0.7) and rule.best == 0.7 and rule.no_improvement == 0


@pytest.mark.parametrize("maximize", [False, True])
def test_stopping_rule_strict_or_as_scikit_learn_at_the_boundary_and_for_nan(maximize):
    start = 1.0
    boundary = start + 0.25 if maximize else start - 0.25  # beats the best by exactly tol
    for strict, counted in ((True, 1), (False, 0)):
        rule = StoppingRule(maximize=maximize, tol=0.25, strict=strict, best=start)
        rule.update(boundary)
        assert rule.no_improvement == counted  # deltaprop needs more than tol; scikit-learn tol or more
    rule = StoppingRule(maximize=maximize, strict=True, best=start, no_improvement=3)
    assert not rule.update(np.nan) and rule.no_improvement == 4 and rule.best == start
    rule = StoppingRule(maximize=maximize, strict=False, best=start, no_improvement=3)
    assert not rule.update(np.nan) and rule.no_improvement == 0  # as scikit-learn's comparisons give


def test_stopping_rule_keeps_and_restores_the_best_weights_and_resumes():
    net = Network([2, 3, 1], output="identity", random_state=0)
    rule = StoppingRule(keep_best=True)
    rule.restore(net)  # nothing kept yet: nothing changes
    rule.update(1.0, net, epoch=0)
    kept = [w.copy() for w in net.W]
    net.W = [w + 1.0 for w in net.W]
    assert not rule.update(2.0, net, epoch=1)
    rule.restore(net)
    for w, k in zip(net.W, kept, strict=True):
        np.testing.assert_array_equal(w, k)
    resumed = StoppingRule(tol=0.1, best_epoch=7)
    resumed.resume([1.0, 0.5, 0.45, 0.6])
    assert (resumed.best, resumed.no_improvement, resumed.best_epoch) == (0.45, 2, 7)
    assert resumed.best_params is None


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_values = st.one_of(st.floats(-3, 3), st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0]))


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(_values, max_size=30),
    start=st.one_of(st.none(), _values.filter(lambda x: not np.isnan(x))),
    maximize=st.booleans(),
    strict=st.booleans(),
    tol=st.sampled_from([0.0, 1e-4, 0.5]),
    counted=st.integers(0, 5),
)
def test_many_values_at_once_count_as_one_update_after_another(values, start, maximize, strict, tol, counted):
    one = StoppingRule(maximize=maximize, tol=tol, strict=strict, best=start, no_improvement=counted)
    many = StoppingRule(maximize=maximize, tol=tol, strict=strict, best=start, no_improvement=counted)
    any_best = False
    for e, value in enumerate(values, start=10):
        any_best |= one.update(value, epoch=e)
    assert many.update_many(values, 10) == any_best
    assert (many.best, many.no_improvement, many.best_epoch) == (one.best, one.no_improvement, one.best_epoch)


def test_fit_counts_patience_on_from_a_resumed_history():
    X, labels = _blobs()
    Y = np.eye(3)[labels]
    net = Network([4, 3], random_state=0)
    # Two epochs without improvement already: one more and patience 3 is used up.
    earlier = History(loss=[0.1, 5.0, 5.0], best_epoch=0, steps=3)
    history = fit(net, X, Y, epochs=10, early_stopping=True, n_iter_no_change=3, history=earlier)
    assert history is earlier and history.stop_reason == "no_improvement"
    assert history.epochs == 4 and history.best_epoch == 0


# ------------------------------------------------------------ fit with a Trainer
@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"learning_rate": 0.1}, "'learning_rate'"),  # the default's value, given: still refused
        ({"l2": 0.0}, "'l2'"),
        ({"beta": 0.9}, "'beta'"),
        ({"learning_rate": 0.5, "l2": 1e-3, "b1": 0.8}, "'learning_rate', 'l2', 'b1'"),
    ],
)
def test_fit_refuses_a_trainer_with_its_own_settings_given_again(given, named):
    X, labels = _blobs()
    net = Network([4, 3], random_state=0)
    trainer = Trainer(net, optimizer="momentum", learning_rate=0.05)
    with pytest.raises(TypeError, match=f"Trainer as 'optimizer' and also {named}.*set them when building"):
        fit(net, X, np.eye(3)[labels], optimizer=trainer, epochs=1, **given)
    assert trainer.steps == 0  # refused before any step


def test_fit_with_a_trainer_and_nothing_else_uses_the_trainers_settings():
    X, labels = _blobs()
    Y = np.eye(3)[labels]
    a = Network([4, 3], random_state=0)
    b = a.copy()
    fit(a, X, Y, optimizer=Trainer(a, "momentum", 0.05, 1e-2, beta=0.5), epochs=3)
    fit(b, X, Y, optimizer="momentum", learning_rate=0.05, l2=1e-2, beta=0.5, epochs=3)
    for p, q in zip(a.W + a.b, b.W + b.b, strict=True):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="trains another network"):
        fit(b, X, Y, optimizer=Trainer(a), epochs=1)


# ------------------------------------------------------------ full-batch objective
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_full_batch_objective_is_the_reference_loss_and_gradient_on_either_path(activation):
    from deltaprop.train import FullBatchObjective

    X, labels = _blobs(n=30)
    Y = np.eye(3)[labels]
    s = np.linspace(0.5, 1.5, 30)
    net = Network([4, 5, 3], activation=activation, random_state=0)
    want_grads = net.backward(net.forward(X), Y, l2=0.1, sample_weight=s)
    want_loss = net.loss(X, Y, l2=0.1, sample_weight=s)
    for path in ("numpy", "engine"):
        objective = FullBatchObjective(net, X, Y, 0.1, s, path=path)
        assert objective.path == path
        for _ in range(2):  # called again at the same parameters: the same answer
            loss, grads = objective()
            assert loss == pytest.approx(want_loss, rel=1e-12)
            for g, w in zip(grads.W + grads.b, want_grads.W + want_grads.b, strict=True):
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)
    assert FullBatchObjective(net, X, Y, 0.0, None).path == "numpy"  # too small to pay for the engine
    assert FullBatchObjective(net, X, Y, 0.0, None, evaluations=10**5).path == "engine"
    with pytest.raises(ValueError, match="'path' parameter"):
        FullBatchObjective(net, X, Y, 0.0, None, path="gpu")
