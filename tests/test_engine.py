"""The compiled engine computes the reference's training steps, to rounding."""

import subprocess
import sys

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.activations import ACTIVATIONS, Activation
from deltaprop.engine import Engine, EngineWorkspace, supports
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
from deltaprop.train import Trainer

SQUARE = Activation("square", lambda a: a * a, lambda a, z: 2 * a)
OPTIMIZERS = {
    "gd": lambda: gd(0.05),
    "momentum": lambda: momentum(0.01, beta=0.9),
    "nesterov": lambda: momentum(0.01, beta=0.9, nesterov=True),
    "adam": lambda: adam(0.01),
    "adamw": lambda: adamw(0.01, weight_decay=0.1),
}
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}
N = 20


def _data(dtype, output, rng):
    X = rng.normal(size=(N, 4)).astype(dtype)
    if output == "identity":
        Y = rng.normal(size=(N, 3)).astype(dtype)
    else:
        Y = np.eye(3, dtype=dtype)[rng.integers(0, 3, N)]
    return X, Y


def _reference(net, optimizer, X, Y, batch, steps, l2, s=None):
    """The pure reference: Network.forward/backward, update, apply_updates.

    Under errstate(all="ignore"): OpenBLAS's float32 products on a single row now and
    then raise a spurious "invalid value" flag (the results are finite; checked below).
    """
    state = optimizer.init(net.params)
    for t in range(steps):
        rows = np.arange(t * batch, (t + 1) * batch) % N
        sb = None if s is None else s[rows]
        with np.errstate(all="ignore"):
            grads = net.backward(net.forward(X[rows]), Y[rows], l2=l2, sample_weight=sb)
            updates, state = optimizer.update(grads, state, net.params)
            net.params = apply_updates(net.params, updates)
    assert all(np.isfinite(x).all() for x in net.W + net.b)
    return net


def _engine(net, optimizer, X, Y, batch, steps, l2, s=None):
    trainer = Trainer(net, optimizer=optimizer, l2=l2, path="engine")
    for t in range(steps):
        rows = np.arange(t * batch, (t + 1) * batch) % N
        trainer.step(X[rows], Y[rows], None if s is None else s[rows])
    assert trainer.path == "engine"
    return net


def _assert_close(got, want, dtype):
    tol = TOLERANCE[dtype]
    for g, w in zip(got.W + got.b, want.W + want.b, strict=True):
        assert g.dtype == np.dtype(dtype)
        np.testing.assert_allclose(
            g, w, equal_nan=False, rtol=tol, atol=tol * max(1.0, float(np.abs(w).max()))
        )


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_engine_after_50_steps_is_the_reference(activation, output, name, dtype):
    rng = np.random.default_rng(0)
    X, Y = _data(dtype, output, rng)
    for depth in (1, 2, 3):
        sizes = [4, *([6, 5][: depth - 1]), 3]
        for batch in (1, 7, N):
            net = Network(sizes, activation=activation, output=output, random_state=1, dtype=dtype)
            want = _reference(net.copy(), OPTIMIZERS[name](), X, Y, batch, 50, l2=1e-3)
            got = _engine(net, OPTIMIZERS[name](), X, Y, batch, 50, l2=1e-3)
            _assert_close(got, want, dtype)


@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_engine_with_sample_weights_and_a_schedule_is_the_reference(output, dtype):
    rng = np.random.default_rng(2)
    X, Y = _data(dtype, output, rng)
    s = rng.uniform(0.1, 2.0, N).astype(dtype)
    net = Network([4, 6, 5, 3], activation="tanh", output=output, random_state=0, dtype=dtype)
    for make in (lambda: momentum(inverse_scaling(0.05, 0.5), nesterov=True), lambda: adam(0.01)):
        want = _reference(net.copy(), make(), X, Y, 7, 50, l2=0.0, s=s)
        got = _engine(net.copy(), make(), X, Y, 7, 50, l2=0.0, s=s)
        _assert_close(got, want, dtype)


def test_the_engine_runs_the_builtins_and_not_user_code():
    net = Network([2, 3, 2], activation="relu", random_state=0)
    assert supports(net, gd(0.1)) and supports(net, by_name("nesterov", 0.1))
    assert not supports(net, chain(clip_by_global_norm(1.0), gd(0.1)))
    assert not supports(Network([2, 3, 2], activation=SQUARE, random_state=0), gd(0.1))
    X, Y = np.ones((4, 2)), np.eye(2)[[0, 1, 0, 1]]
    trainer = Trainer(net, optimizer="adam", learning_rate=0.01, path="engine")
    trainer.step(X, Y)
    assert trainer.path == "engine" and isinstance(trainer._fast, Engine)
    assert isinstance(trainer.workspace, EngineWorkspace)
    assert np.shares_memory(net.W[0], trainer.workspace.flat_params.W[0])
    user = Trainer(Network([2, 3, 2], activation=SQUARE, random_state=0), optimizer="adam", path="engine")
    user.step(X, Y)
    assert user.path == "numpy"


def test_replacing_the_optimizer_moves_the_state_between_paths():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 2)), np.eye(2)[rng.integers(0, 2, 8)]
    net = Network([2, 4, 2], random_state=0)
    trainer = Trainer(net, optimizer="momentum", learning_rate=0.05, path="engine")
    reference = net.copy()
    optimizer = momentum(0.05)
    state = optimizer.init(reference.params)
    for t in range(6):
        if t == 3:  # the same optimiser without its spec: the NumPy path takes over the state
            trainer.optimizer = GradientTransformation(trainer.optimizer.init, trainer.optimizer.update)
        trainer.step(X, Y)
        updates, state = optimizer.update(
            reference.backward(reference.forward(X), Y), state, reference.params
        )
        reference.params = apply_updates(reference.params, updates)
        assert trainer.path == ("engine" if t < 3 else "numpy")
    _assert_close(net, reference, np.float64)


def test_import_deltaprop_does_not_import_numba():
    code = "import sys, deltaprop, deltaprop.train, deltaprop.engine; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_auto_compiles_only_steps_that_pay_for_it():
    from deltaprop.train._trainer import ENGINE_MIN_WORK

    rng = np.random.default_rng(0)
    small = Trainer(Network([2, 8, 8, 2], random_state=0), optimizer="gd")  # the lecture's toy
    small.step(rng.normal(size=(200, 2)), np.eye(2)[rng.integers(0, 2, 200)])
    assert small.path == "numpy"
    net = Network([100, 100, 5], random_state=0)
    rows = ENGINE_MIN_WORK // sum(w.size for w in net.W) + 1
    large = Trainer(net, optimizer="gd")
    large.step(rng.normal(size=(rows, 100)), np.eye(5)[rng.integers(0, 5, rows)])
    assert large.path == "engine"
    forced = Trainer(Network([2, 8, 2], random_state=0), optimizer="gd", path="numpy")
    forced.step(np.ones((4, 2)), np.eye(2)[[0, 1, 0, 1]])
    assert forced.path == "numpy"
    with pytest.raises(ValueError, match="'path' parameter must be one of"):
        Trainer(Network([2, 2]), path="gpu")
