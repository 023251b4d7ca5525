"""Ctrl-C during a compiled run: the network, the optimiser's state and the History agree."""

import os
import signal
import threading

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.train import Callback, Trainer, fit
from deltaprop.train import _fit as fit_module
from deltaprop.train._interrupts import HeldInterrupt


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def _data(n=60, d=5, K=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, K, n)
    return rng.normal(size=(n, d)) + 2.0 * np.eye(K, d)[labels], np.eye(K)[labels]


@pytest.fixture
def python_handles_ctrl_c():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # what a user's program has


def test_ctrl_c_in_a_held_block_is_raised_at_its_end(python_handles_ctrl_c):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with HeldInterrupt():
            _ctrl_c()
            done.append("after the signal")
            with HeldInterrupt():  # nested: the outer block raises
                done.append("inner")
            done.append("after the inner block")
    assert done == ["after the signal", "inner", "after the inner block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with HeldInterrupt():  # nothing pending: nothing raised
        pass


def test_an_error_in_a_held_block_with_ctrl_c_pending_becomes_the_interrupt(python_handles_ctrl_c):
    with pytest.raises(KeyboardInterrupt) as caught:
        with HeldInterrupt():
            _ctrl_c()
            raise ValueError("the block's own error")
    assert isinstance(caught.value.__cause__, ValueError)


def test_a_held_block_keeps_a_programs_own_handler_and_does_nothing_off_the_main_thread():
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with HeldInterrupt():
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
            _ctrl_c()
        assert seen == [signal.SIGINT]  # the program's handler ran, nothing was held back
    finally:
        signal.signal(signal.SIGINT, previous)
    errors = []

    def in_a_thread():
        try:
            with HeldInterrupt() as held:
                assert held._previous is None  # signal handlers belong to the main thread
        except BaseException as error:  # reported below
            errors.append(error)

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert errors == []


@pytest.fixture
def ctrl_c_during_compiled_call(monkeypatch):
    """Ctrl-C pressed during the engine's compiled call ``number`` (Python sees it as the call returns)."""
    from deltaprop.engine import _fused

    real = _fused.run_batches

    def arm(number):
        calls = []

        def run_batches(*args):
            ran = real(*args)
            calls.append(ran)
            if len(calls) == number:
                _ctrl_c()
            return ran

        monkeypatch.setattr(_fused, "run_batches", run_batches)
        return calls

    return arm


@pytest.mark.parametrize("watched_epochs", [False, True])
def test_ctrl_c_during_a_compiled_chunk_keeps_its_epochs_in_weights_state_and_history(
    python_handles_ctrl_c, ctrl_c_during_compiled_call, monkeypatch, watched_epochs
):
    X, Y = _data()
    callbacks = [lambda epoch, history, net: False] if watched_epochs else []  # one epoch a call
    monkeypatch.setattr(fit_module._Chunks, "SECONDS", 0.0)  # unwatched: one epoch a chunk too
    options = dict(batch_size=10, shuffle=False, callbacks=callbacks)
    full = Network([5, 8, 3], activation="relu", random_state=0)
    complete = fit(full, X, Y, optimizer=Trainer(full, "adam", 0.01, path="engine"), epochs=6, **options)

    net = Network([5, 8, 3], activation="relu", random_state=0)
    trainer = Trainer(net, "adam", 0.01, path="engine")
    calls = ctrl_c_during_compiled_call(2)
    history = fit(net, X, Y, optimizer=trainer, epochs=6, **options)
    assert history.stop_reason == "interrupted" and len(calls) == 2
    assert history.epochs == 2 and history.steps == trainer.steps == 12  # the second epoch is kept
    assert history.loss == complete.loss[:2] and history.grad_norms == complete.grad_norms[:2]
    monkeypatch.undo()
    fit(net, X, Y, optimizer=trainer, epochs=4, history=history, **options)  # Adam's moments and t go on
    assert history == complete
    for got, want in zip(net.W + net.b, full.W + full.b, strict=True):
        np.testing.assert_array_equal(got, want)


def test_ctrl_c_during_a_compiled_step_keeps_the_step(python_handles_ctrl_c, ctrl_c_during_compiled_call):
    X, Y = _data()

    class WatchesBatches(Callback):
        def on_batch_end(self, step, loss, net):
            return False

    alone = Network([5, 8, 3], activation="relu", random_state=0)
    stepper = Trainer(alone, "adam", 0.01, path="engine")
    net = Network([5, 8, 3], activation="relu", random_state=0)
    trainer = Trainer(net, "adam", 0.01, path="engine")
    calls = ctrl_c_during_compiled_call(4)
    watched = [WatchesBatches()]
    history = fit(net, X, Y, optimizer=trainer, epochs=3, batch_size=10, shuffle=False, callbacks=watched)
    assert history.stop_reason == "interrupted" and history.epochs == 0 and trainer.steps == len(calls) == 4
    for start in range(0, 40, 10):
        stepper.step(X[start : start + 10], Y[start : start + 10])
    for got, want in zip(net.W + net.b, alone.W + alone.b, strict=True):
        np.testing.assert_array_equal(got, want)
    for start in range(40, 60, 10):  # the state is that of the four steps: the fifth agrees too
        stepper.step(X[start : start + 10], Y[start : start + 10])
        trainer.step(X[start : start + 10], Y[start : start + 10])
    for got, want in zip(net.W + net.b, alone.W + alone.b, strict=True):
        np.testing.assert_array_equal(got, want)
