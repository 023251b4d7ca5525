"""The compiled engine computes the reference's training steps, to rounding."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from deltaprop import Network
from deltaprop.activations import ACTIVATIONS, Activation
from deltaprop.engine import Engine, fused, supports
from deltaprop.losses import OUTPUTS
from deltaprop.optim import (
    GradientTransformation,
    adam,
    adamw,
    apply_updates,
    by_name,
    chain,
    clip_by_global_norm,
    gd,
    momentum,
)
from deltaprop.schedules import inverse_scaling
from deltaprop.train import Trainer, fit

SQUARE = Activation("square", lambda a: a * a, lambda a, z: 2 * a)
OPTIMIZERS = {
    "gd": lambda: gd(0.05),
    "momentum": lambda: momentum(0.01, beta=0.9),
    "sgd": lambda: by_name("sgd", 0.01),  # Nesterov
    "adam": lambda: adam(0.01),
    "adamw": lambda: adamw(0.01, weight_decay=0.1),
    "clipped adam": lambda: chain(clip_by_global_norm(0.5), adam(0.01)),
}
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}
N = 20
STEPS = 50
# every depth 1-4 with every batch size (1, a part, the full batch), spread over the outputs
DEPTHS_AND_BATCHES = {
    "softmax": [(1, 1), (2, 7), (3, N), (4, 1)],
    "identity": [(1, 7), (2, N), (3, 1), (4, 7)],
    "sigmoid": [(1, N), (2, 1), (3, 7), (4, N)],
}


def _data(dtype, output, rng, d=4, K=3):
    X = rng.normal(size=(N, d)).astype(dtype)
    if output == "identity":
        Y = rng.normal(size=(N, K)).astype(dtype)
    elif output == "sigmoid":
        Y = (rng.uniform(size=(N, K)) < 0.5).astype(dtype)
    else:
        Y = np.eye(K, dtype=dtype)[rng.integers(0, K, N)]
    return X, Y


def _rows(batch, steps):
    """The rows of step t: t * batch ... (t + 1) * batch - 1, modulo N."""
    return [np.arange(t * batch, (t + 1) * batch) % N for t in range(steps)]


def _reference(net, optimizer, X, Y, batch, l2, s=None, steps=STEPS, check=True):
    """The pure reference: Network.forward/backward, update, apply_updates.

    Under errstate(all="ignore"): OpenBLAS's float32 products on a single row now and
    then raise a spurious "invalid value" flag (the results are finite; checked below).
    """
    state = optimizer.init(net.params)
    for rows in _rows(batch, steps):
        sb = None if s is None else s[rows]
        with np.errstate(all="ignore"):
            grads = net.backward(net.forward(X[rows]), Y[rows], l2=l2, sample_weight=sb)
            updates, state = optimizer.update(grads, state, net.params)
            net.params = apply_updates(net.params, updates)
    assert not check or all(np.isfinite(x).all() for x in net.W + net.b)
    return net


def _engine(net, optimizer, X, Y, batch, l2, s=None, steps=STEPS):
    """The same steps as one run of the engine (one compiled call where the network is fused)."""
    trainer = Trainer(net, optimizer=optimizer, l2=l2, path="engine")
    order = np.concatenate(_rows(batch, steps))
    starts = np.arange(0, steps * batch + 1, batch)
    with np.errstate(all="ignore"):
        run = trainer._run_epoch(X, Y, s, order, starts)
    assert trainer.path == "engine" and run is not None and run.updates == steps
    return net


def _assert_close(got, want, dtype):
    tol = TOLERANCE[dtype]
    for g, w in zip(got.W + got.b, want.W + want.b, strict=True):
        assert g.dtype == np.dtype(dtype)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol * max(1.0, float(np.abs(w).max())))


def _sizes(depth):
    return [4, *([6, 5, 7][: depth - 1]), 3]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_engine_after_50_steps_is_the_reference(activation, output, name, dtype):
    rng = np.random.default_rng(0)
    X, Y = _data(dtype, output, rng)
    for depth, batch in DEPTHS_AND_BATCHES[output]:
        net = Network(_sizes(depth), activation=activation, output=output, random_state=1, dtype=dtype)
        want = _reference(net.copy(), OPTIMIZERS[name](), X, Y, batch, l2=1e-3)
        got = _engine(net, OPTIMIZERS[name](), X, Y, batch, l2=1e-3)
        _assert_close(got, want, dtype)


@pytest.mark.parametrize("activation", ["relu", "tanh"])  # the fused and the split step
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_engine_with_sample_weights_and_schedules_is_the_reference(activation, output, dtype):
    rng = np.random.default_rng(2)
    X, Y = _data(dtype, output, rng)
    s = rng.uniform(0.1, 2.0, N).astype(dtype)
    net = Network([4, 6, 5, 3], activation=activation, output=output, random_state=0, dtype=dtype)
    makes = (
        lambda: momentum(inverse_scaling(0.05, 0.5), nesterov=True),
        lambda: chain(clip_by_global_norm(0.2), adamw(inverse_scaling(0.01, 0.3))),
    )
    for make in makes:
        for batch in (1, 7, N):
            want = _reference(net.copy(), make(), X, Y, batch, l2=1e-2, s=s)
            got = _engine(net.copy(), make(), X, Y, batch, l2=1e-2, s=s)
            _assert_close(got, want, dtype)


@settings(max_examples=25, deadline=None)
@given(
    widths=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    batch=st.integers(1, N),
    activation=st.sampled_from(["relu", "leaky_relu", "identity", "gelu"]),
    output=st.sampled_from(sorted(OUTPUTS)),
)
def test_engine_is_the_reference_for_any_shapes(widths, batch, activation, output):
    rng = np.random.default_rng(3)
    d, *hidden, K = [widths[0], *widths[1:-1], widths[-1]] if len(widths) > 1 else [3, widths[0]]
    X, Y = _data(np.float64, output, rng, d=d, K=K)
    net = Network([d, *hidden, K], activation=activation, output=output, random_state=0)
    want = _reference(net.copy(), momentum(0.01, nesterov=True), X, Y, batch, l2=1e-3, steps=10, check=False)
    assume(all(np.isfinite(x).all() and np.abs(x).max() < 1e6 for x in want.W + want.b))
    got = _engine(net, momentum(0.01, nesterov=True), X, Y, batch, l2=1e-3, steps=10)
    _assert_close(got, want, np.float64)


def test_trainer_steps_and_fit_epochs_in_the_engine_are_the_reference():
    rng = np.random.default_rng(4)
    X, Y = _data(np.float64, "softmax", rng)
    for activation in ("relu", "softplus"):
        net = Network([4, 6, 3], activation=activation, random_state=0)
        stepped, fitted, reference = net.copy(), net.copy(), net.copy()
        trainer = Trainer(stepped, "adam", 0.01, path="engine")
        for rows in _rows(7, 12):
            trainer.step(X[rows], Y[rows])
        _assert_close(stepped, _reference(reference, adam(0.01), X, Y, 7, l2=0.0, steps=12), np.float64)
        a = fit(
            fitted,
            X,
            Y,
            optimizer=Trainer(fitted, "sgd", 0.05, path="engine"),
            epochs=4,
            batch_size=6,
            random_state=0,
        )
        twin = net.copy()
        b = fit(
            twin,
            X,
            Y,
            optimizer=Trainer(twin, "sgd", 0.05, path="numpy"),
            epochs=4,
            batch_size=6,
            random_state=0,
        )
        _assert_close(fitted, twin, np.float64)
        np.testing.assert_allclose(a.loss, b.loss, rtol=1e-12)
        np.testing.assert_allclose(a.grad_norms, b.grad_norms, rtol=1e-10)


def test_the_engine_runs_the_builtins_and_not_user_code():
    net = Network([2, 3, 2], activation="relu", random_state=0)
    assert supports(net, gd(0.1)) and supports(net, by_name("nesterov", 0.1))
    assert supports(net, chain(clip_by_global_norm(1.0), gd(0.1)))
    assert not supports(net, chain(gd(0.1), clip_by_global_norm(1.0)))
    assert not supports(net, GradientTransformation(gd(0.1).init, gd(0.1).update))
    assert not supports(Network([2, 3, 2], activation=SQUARE, random_state=0), gd(0.1))
    assert fused(net) and not fused(Network([2, 3, 2], activation="tanh"))
    X, Y = np.ones((4, 2)), np.eye(2)[[0, 1, 0, 1]]
    for activation in sorted(ACTIVATIONS):
        for output in sorted(OUTPUTS):
            for name in OPTIMIZERS:
                net = Network([2, 3, 2], activation=activation, output=output, random_state=0)
                trainer = Trainer(net, optimizer=OPTIMIZERS[name](), path="engine")
                trainer.step(X, Y)
                assert trainer.path == "engine" and isinstance(trainer._engine, Engine)
    user = Trainer(Network([2, 3, 2], activation=SQUARE, random_state=0), optimizer="adam", path="engine")
    user.step(X, Y)
    assert user.path == "numpy" and user._engine is None
    assert "user-defined" in user.describe_path()


def test_replacing_the_optimizer_moves_the_state_between_paths():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 2)), np.eye(2)[rng.integers(0, 2, 8)]
    net = Network([2, 4, 2], random_state=0)
    trainer = Trainer(net, optimizer="momentum", learning_rate=0.05, path="engine")
    reference = net.copy()
    optimizer = momentum(0.05)
    state = optimizer.init(reference.params)
    for t in range(6):
        if t == 3:  # the same optimiser without its spec: the reference path takes over the state
            trainer.optimizer = GradientTransformation(trainer.optimizer.init, trainer.optimizer.update)
        trainer.step(X, Y)
        updates, state = optimizer.update(
            reference.backward(reference.forward(X), Y), state, reference.params
        )
        reference.params = apply_updates(reference.params, updates)
        assert trainer.path == ("engine" if t < 3 else "numpy")
    _assert_close(net, reference, np.float64)


def test_a_diverging_run_stops_where_the_reference_stops_with_its_last_finite_parameters():
    from deltaprop.train import DivergenceError

    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(N, 4)) * 1e3, rng.normal(size=(N, 3)) * 1e3
    nets = {}
    for path in ("engine", "numpy"):
        net = nets[path] = Network([4, 8, 3], activation="relu", output="identity", random_state=0)
        trainer = Trainer(net, "gd", 10.0, path=path)
        with pytest.raises(DivergenceError, match="training diverged"):
            fit(net, X, Y, optimizer=trainer, epochs=50, batch_size=5, random_state=0)
        assert all(np.isfinite(x).all() for x in net.W + net.b)
        nets[path + " steps"] = trainer.steps
    assert nets["engine steps"] == nets["numpy steps"]
    _assert_close(nets["engine"], nets["numpy"], np.float64)


def test_import_deltaprop_does_not_import_numba():
    code = "import sys, deltaprop, deltaprop.train, deltaprop.engine; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_auto_runs_the_engine_only_where_it_pays_for_its_start_up():
    code = """
import numpy as np
from deltaprop import Network
from deltaprop.train import Trainer, fit
rng = np.random.default_rng(0)
X, Y = rng.normal(size=(200, 2)), np.eye(2)[rng.integers(0, 2, 200)]
toy = Trainer(Network([2, 8, 8, 2], random_state=0), "gd")  # the lecture's toy: 500 full-batch steps
fit(toy.net, X, Y, optimizer=toy, epochs=500)
big = Trainer(Network([2, 256, 256, 2], random_state=0), "gd")
print(toy.path)
stop = lambda epoch, history, net: True  # fit plans 200 epochs; one is enough to see the path
fit(big.net, X, Y, optimizer=big, epochs=200, batch_size=10, callbacks=[stop])
again = Trainer(Network([2, 8, 8, 2], random_state=0), "gd")  # by the work alone, not what ran before
fit(again.net, X, Y, optimizer=again, epochs=5)
print(big.path, again.path)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["numpy", "engine", "numpy"]
    forced = Trainer(Network([2, 8, 2], random_state=0), optimizer="gd", path="numpy")
    forced.step(np.ones((4, 2)), np.eye(2)[[0, 1, 0, 1]])
    assert forced.path == "numpy"
    with pytest.raises(ValueError, match="'path' parameter must be one of"):
        Trainer(Network([2, 2]), path="gpu")


def test_one_compiled_step_per_dtype_whatever_the_batches():
    from deltaprop.engine import _fused

    rng = np.random.default_rng(6)
    X, Y = _data(np.float64, "softmax", rng)
    s = rng.uniform(0.5, 1.5, N)
    net = Network([4, 5, 3], random_state=0)
    fit(net, X, Y, optimizer=Trainer(net, "gd", 0.1, path="engine"), epochs=1)
    before = len(_fused.run_batches.signatures)
    for batch_size, shuffle, weights in [(None, True, None), (6, True, s), (6, False, None), (1, True, s)]:
        trainer = Trainer(net, "adam", 0.01, path="engine")
        fit(
            net,
            X,
            Y,
            optimizer=trainer,
            epochs=2,
            batch_size=batch_size,
            shuffle=shuffle,
            sample_weight=weights,
        )
    assert len(_fused.run_batches.signatures) == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_products_and_the_outer_products_are_blas_s(dtype):
    from deltaprop.engine import _fused

    rng = np.random.default_rng(7)
    tol = TOLERANCE[dtype]
    # (n, M, k): BLAS, and the sums over a single index (k = 1, n = 1, M = 1) as compiled loops
    for n, M, k in [(1, 1, 1), (3, 2, 5), (200, 8, 8), (256, 1, 64), (1, 6, 7), (64, 64, 40), (20, 5, 1)]:
        z, W, delta = (rng.normal(size=shape).astype(dtype) for shape in [(n, k), (M, k), (n, M)])
        a, dW, back = np.empty((n, M), dtype), np.empty((M, k), dtype), np.empty((n, k), dtype)
        _fused.forward_product(z, W, a)
        _fused.weight_gradient(delta, z, dW, False)
        _fused.back_product(delta, W, back)
        for got, want in [(a, z @ W.T), (dW, delta.T @ z), (back, delta @ W)]:
            assert got.dtype == np.dtype(dtype)
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize(
    "activation, dtype",  # the fused step (relu's kinks flip in float32 rounding: identity) and the split
    [("relu", np.float64), ("identity", np.float32), ("tanh", np.float32), ("tanh", np.float64)],
)
def test_engine_is_the_reference_on_wider_layers(activation, dtype):
    rng = np.random.default_rng(9)
    X, Y = _data(dtype, "softmax", rng, d=40, K=5)
    net = Network([40, 64, 32, 5], activation=activation, random_state=0, dtype=dtype)
    for batch in (7, N):
        for make in (lambda: by_name("sgd", 0.01), lambda: adam(0.001)):
            want = _reference(net.copy(), make(), X, Y, batch, l2=1e-3, steps=20)
            got = _engine(net.copy(), make(), X, Y, batch, l2=1e-3, steps=20)
            _assert_close(got, want, dtype)


def _fit_counting_calls(monkeypatch, net, X, Y, **kwargs):
    """fit in the engine; returns the History and the epochs of each compiled call."""
    calls = []
    run = Engine.run

    def counting(self, *args):
        calls.append(args[-1])
        return run(self, *args)

    monkeypatch.setattr(Engine, "run", counting)
    history = fit(net, X, Y, random_state=0, **kwargs)
    monkeypatch.setattr(Engine, "run", run)
    return history, calls


@pytest.mark.parametrize(
    "batch_size, shuffle, optimizer",
    [(None, True, "gd"), (6, True, "adam"), (6, False, "sgd"), (1, True, "momentum")],
)
def test_fit_runs_many_epochs_in_one_call_with_the_bits_of_one_epoch_at_a_time(
    monkeypatch, batch_size, shuffle, optimizer
):
    from deltaprop.train import _fit

    monkeypatch.setattr(_fit._Chunks, "SECONDS", 60.0)  # after the first epoch, the rest in one call
    rng = np.random.default_rng(8)
    X, Y = _data(np.float64, "softmax", rng)
    runs = {}
    for watched in (False, True):
        net = Network([4, 6, 3], activation="relu", random_state=0)
        lr = inverse_scaling(0.05, 0.5)  # a schedule: the learning rate of every step
        trainer = Trainer(net, optimizer, lr, path="engine")
        callbacks = [lambda epoch, history, net: False] if watched else []  # looks at every epoch
        history, calls = _fit_counting_calls(
            monkeypatch, net, X, Y, optimizer=trainer, epochs=12, batch_size=batch_size, shuffle=shuffle,
            callbacks=callbacks,
        )  # fmt: skip
        runs[watched] = net, history, calls, trainer.steps
    (together, a, calls_a, steps_a), (alone, b, calls_b, steps_b) = runs[False], runs[True]
    assert calls_a == [1, 11] and calls_b == [1] * 12
    for x, y in zip(together.W + together.b, alone.W + alone.b, strict=True):
        np.testing.assert_array_equal(x, y)  # the same bits
    assert a.loss == b.loss and a.grad_norms == b.grad_norms and a.lr == b.lr and a.best_epoch == b.best_epoch
    assert steps_a == steps_b == a.steps == b.steps == 12 * -(-N // (batch_size or N))


def test_a_run_of_epochs_that_diverges_keeps_the_epochs_before_it(monkeypatch):
    from deltaprop.train import DivergenceError, History, _fit

    monkeypatch.setattr(_fit._Chunks, "SECONDS", 60.0)
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(N, 4)), rng.normal(size=(N, 3))
    seen = {}
    for watched in (False, True):
        net = Network([4, 8, 3], activation="relu", output="identity", random_state=0)
        trainer = Trainer(net, "gd", 1.1, path="engine")  # diverges in its third epoch
        history = History()
        callbacks = [lambda epoch, history, net: False] if watched else []
        with pytest.raises(DivergenceError, match="training diverged"):
            _fit_counting_calls(
                monkeypatch, net, X, Y, optimizer=trainer, epochs=50, batch_size=5, history=history,
                callbacks=callbacks,
            )  # fmt: skip
        seen[watched] = net, history, trainer.steps
    (a, history_a, steps_a), (b, history_b, steps_b) = seen[False], seen[True]
    assert history_a.epochs == history_b.epochs > 1 and history_a.loss == history_b.loss
    assert steps_a == steps_b and steps_a > 4 * history_a.epochs  # it diverged inside an epoch
    for x, y in zip(a.W + a.b, b.W + b.b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_the_engine_s_products_are_numpy_s_to_the_bit():
    from deltaprop.engine import _blas, _fused

    has_openblas = any((Path(np.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas64_*"))
    if not has_openblas:
        pytest.skip("this NumPy has no OpenBLAS of its own: the engine calls numba's np.dot")
    assert _blas.PROVIDER == "numpy"
    rng = np.random.default_rng(10)
    for dtype in (np.float32, np.float64):
        for n, M, k in [(5, 3, 4), (128, 64, 50), (300, 10, 100)]:
            z, W, delta = (rng.normal(size=shape).astype(dtype) for shape in [(n, k), (M, k), (n, M)])
            a, dW, back = np.empty((n, M), dtype), np.empty((M, k), dtype), np.empty((n, k), dtype)
            _fused.forward_product(z, W, a)
            _fused.weight_gradient(delta, z, dW, False)
            _fused.back_product(delta, W, back)
            np.testing.assert_array_equal(a, z @ W.T)
            np.testing.assert_array_equal(dW, delta.T @ z)
            np.testing.assert_array_equal(back, delta @ W)


def test_without_numpy_s_openblas_the_engine_computes_its_products_with_numba():
    code = """
import numpy as np
from deltaprop import Network
from deltaprop.engine import _blas
from deltaprop.train import Trainer, fit
rng = np.random.default_rng(0)
X, Y = rng.normal(size=(1500, 6)), np.eye(3)[rng.integers(0, 3, 1500)]
gaps = []
for batch_size in (8, None):  # mini-batches; the full batch in chunks (products added: beta = 1)
    nets = {}
    for path in ("engine", "numpy"):
        net = nets[path] = Network([6, 16, 8, 3], activation="relu", random_state=0)
        trainer = Trainer(net, "adam", 0.01, path=path)
        fit(net, X[:40] if batch_size else X, Y[:40] if batch_size else Y, optimizer=trainer, epochs=20,
            batch_size=batch_size, random_state=0)
    gaps.append(max(float(np.abs(a - b).max()) for a, b in zip(nets["engine"].W, nets["numpy"].W)))
print(_blas.PROVIDER, max(gaps) < 1e-12)
"""
    env = {**os.environ, "DELTAPROP_BLAS": "numba"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["numba", "True"]


@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_batch_longer_than_a_chunk_runs_chunk_by_chunk_as_the_reference(monkeypatch, output, dtype):
    from deltaprop.engine import _step

    monkeypatch.setattr(_step, "CHUNK_ROWS", 7)  # 20 rows: chunks of 7, 7 and 6 (the full batch)
    rng = np.random.default_rng(11)
    X, Y = _data(dtype, output, rng)
    s = rng.uniform(0.1, 2.0, N).astype(dtype)
    net = Network([4, 6, 5, 3], activation="relu", output=output, random_state=0, dtype=dtype)
    for name in ("sgd", "adam", "clipped adam"):  # clipping: one update after the whole batch
        for batch, weights in [(N, None), (N, s), (13, s)]:  # 13: a gathered batch of 7 + 6
            want = _reference(net.copy(), OPTIMIZERS[name](), X, Y, batch, l2=1e-3, s=weights)
            got = _engine(net.copy(), OPTIMIZERS[name](), X, Y, batch, l2=1e-3, s=weights)
            _assert_close(got, want, dtype)
    trainer = Trainer(net.copy(), "gd", 0.1, path="engine")
    trainer.step(X, Y)
    per_row = _step.compiled("_fused").PER_ROW
    assert trainer._engine.workspace.work.size <= 7 * (per_row + 2 * (6 + 5 + 3))  # a chunk's rows, not 20


# ------------------------------------------------------------ the fused step on two threads


@pytest.fixture
def two_threads(monkeypatch):
    """Two engine threads for any work (the size thresholds off); skips where there are not two."""
    import numba

    from deltaprop.engine import _step

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba sees one core: the threaded step needs two")
    if not _step._thread_safe_layer():
        pytest.skip("no thread-safe numba threading layer (OpenMP or TBB) is installed")
    monkeypatch.setenv(_step.THREADS_VARIABLE, "2")
    monkeypatch.setattr(_step, "THREAD_ROWS", 1)
    monkeypatch.setattr(_step, "THREAD_WORK", 1)
    launched = []
    real = _step._threaded_run

    def counting(threads, *args):
        launched.append(threads)
        return real(threads, *args)

    monkeypatch.setattr(_step, "_threaded_run", counting)
    with threadpool_limits(limits=2, user_api="blas"):
        yield launched


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("output", ["softmax", "identity", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_threads_are_the_reference_after_50_steps(two_threads, name, output, dtype):
    rng = np.random.default_rng(3)
    X, Y = _data(dtype, output, rng)
    s = rng.uniform(0.1, 2.0, N).astype(dtype)
    for sizes, activation in [([4, 6, 3], "relu"), ([4, 6, 5, 7, 3], "leaky_relu"), ([4, 3], "identity")]:
        net = Network(sizes, activation=activation, output=output, random_state=0, dtype=dtype)
        for batch, weights in [(1, None), (7, s), (N, None)]:  # batch 1: one thread gets no row
            want = _reference(net.copy(), OPTIMIZERS[name](), X, Y, batch, l2=1e-3, s=weights)
            got = _engine(net.copy(), OPTIMIZERS[name](), X, Y, batch, l2=1e-3, s=weights)
            _assert_close(got, want, dtype)
    assert two_threads and set(two_threads) == {2}


def test_two_threads_chunk_a_long_batch_as_the_reference(two_threads, monkeypatch):
    from deltaprop.engine import _step

    monkeypatch.setattr(_step, "CHUNK_ROWS", 4)  # 20 rows: each thread's 10 in chunks of 4, 4, 2
    rng = np.random.default_rng(5)
    X, Y = _data(np.float64, "softmax", rng)
    net = Network([4, 6, 5, 3], activation="relu", random_state=0)
    for name in ("gd", "clipped adam"):
        want = _reference(net.copy(), OPTIMIZERS[name](), X, Y, N, l2=1e-2)
        got = _engine(net.copy(), OPTIMIZERS[name](), X, Y, N, l2=1e-2)
        _assert_close(got, want, np.float64)
    assert two_threads


def test_two_threads_give_the_same_bits_run_after_run_and_history_s_norms(two_threads):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 10)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 300)]

    def train():
        net = Network([10, 16, 3], activation="relu", random_state=1, dtype=np.float32)
        history = fit(
            net,
            X,
            Y,
            optimizer=Trainer(net, "adam", 0.01, path="engine"),
            batch_size=32,
            epochs=3,
            random_state=0,
        )
        return net, history

    (a, ha), (b, hb) = train(), train()
    assert all(np.array_equal(x, y) for x, y in zip(a.W + a.b, b.W + b.b, strict=True))
    assert ha.loss == hb.loss
    with threadpool_limits(limits=1, user_api="blas"):  # one thread: the one-thread step
        calls = len(two_threads)
        c, hc = train()
        assert len(two_threads) == calls
    np.testing.assert_allclose(ha.loss, hc.loss, rtol=1e-5)
    np.testing.assert_allclose(ha.grad_norms, hc.grad_norms, rtol=1e-4)
    _assert_close(a, c, np.float32)


def test_the_engine_s_threads_follow_blas_s_limit_the_variable_and_the_work(monkeypatch):
    import numba

    from deltaprop.engine import _step

    monkeypatch.delenv(_step.THREADS_VARIABLE, raising=False)
    two = 2 if numba.config.NUMBA_NUM_THREADS >= 2 and _step._thread_safe_layer() else 1
    with threadpool_limits(limits=2, user_api="blas"):
        assert _step.threads_for(10_000, 100_000) == two  # by default: as many as BLAS may use
        assert _step.threads_for(16, 100) == 1  # 1,600 multiply-adds: not worth two threads
        assert _step.threads_for(20, 100_000) == 1  # 10 rows a thread
        monkeypatch.setenv(_step.THREADS_VARIABLE, "1")
        assert _step.threads_for(10_000, 100_000) == 1  # asked for one
        for wrong in ("many", "0", "-2"):
            monkeypatch.setenv(_step.THREADS_VARIABLE, wrong)
            with pytest.raises(ValueError, match="DELTAPROP_ENGINE_THREADS must be a whole number"):
                _step.threads_for(10_000, 100_000)
    monkeypatch.setenv(_step.THREADS_VARIABLE, "2")
    with threadpool_limits(limits=1, user_api="blas"):
        assert _step.threads_for(10_000, 100_000) == 1  # BLAS's limit is the engine's


def test_threaded_steps_in_several_python_threads_leave_blas_s_limit_as_it_was(two_threads):
    from concurrent.futures import ThreadPoolExecutor

    from deltaprop.engine import _blas

    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 200)]

    def train(seed):
        net = Network([6, 16, 3], activation="relu", random_state=seed, dtype=np.float32)
        trainer = Trainer(net, "sgd", 0.05, path="engine")
        fit(net, X, Y, optimizer=trainer, batch_size=20, epochs=30, random_state=0)
        return net

    alone = [train(seed) for seed in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(train, range(4)))
    assert _blas.threads() == 2  # the fixture's limit, back after the last run ended
    for a, b in zip(alone, together, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a.W + a.b, b.W + b.b, strict=True))
    assert len(two_threads) >= 8


def test_verbose_says_how_many_threads_the_step_runs_on(two_threads, capsys):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(64, 6))
    Y = np.eye(3)[rng.integers(0, 3, 64)]
    net = Network([6, 8, 3], random_state=0)
    fit(net, X, Y, optimizer=Trainer(net, "gd", 0.1, path="engine"), epochs=2, verbose=True)
    shown = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "whole epochs per compiled call, on 2 threads" in shown
    with threadpool_limits(limits=1, user_api="blas"):
        fit(net, X, Y, optimizer=Trainer(net, "gd", 0.1, path="engine"), epochs=2, verbose=True)
    shown = capsys.readouterr().out
    assert "whole epochs per compiled call" in shown and "threads" not in shown


def _fit_and_its_arrays():
    """A shuffled fit with momentum on the engine: (trainer, engine, workspace, history)."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 4)), np.eye(3)[rng.integers(0, 3, 60)]
    net = Network([4, 6, 3], random_state=0)
    trainer = Trainer(net, optimizer="nesterov", learning_rate=0.05, path="engine")
    history = fit(net, X, Y, optimizer=trainer, batch_size=10, epochs=3, shuffle=True, random_state=0)
    engine = trainer._engine
    assert engine is not None and engine.workspace is not None
    assert len(history.loss) == 3 and np.all(np.isfinite(history.loss))
    # the velocity lives in the flat layout only: the per-layer copy optimizer.init made is let go
    assert trainer._state is None and engine._state is None
    flat_velocity = engine._flat_state.velocity.W[0]
    assert all(np.shares_memory(w, flat_velocity) for w in trainer.state.velocity.W)
    return engine.workspace


def test_a_fit_keeps_one_copy_of_the_state_and_one_work_vector(monkeypatch):
    from deltaprop.engine import _step

    monkeypatch.setenv(_step.THREADS_VARIABLE, "1")
    ws = _fit_and_its_arrays()
    assert ws.work.size > 0 and ws.works.shape[0] == 0 and ws.gs.shape[0] == 0


def test_a_threaded_fit_keeps_a_work_vector_a_thread_and_not_the_one_thread_one(two_threads):
    ws = _fit_and_its_arrays()
    assert ws.work.size == 0 and ws.works.shape[0] == 2 and ws.gs.shape[0] == 1
    assert two_threads
