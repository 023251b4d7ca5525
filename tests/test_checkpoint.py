import numpy as np
import pytest

from deltaprop import optim
from deltaprop.checkpoint import Checkpointer, load_checkpoint, save_checkpoint
from deltaprop.modelfile import ModelFileError, save
from deltaprop.network import Network
from deltaprop.train import History, Trainer, fit


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]


@pytest.mark.parametrize(
    ("optimizer", "learning_rate", "options"),
    [
        ("adam", 0.01, {}),
        ("sgd", optim.inverse_scaling(0.1, 0.3), {"beta": 0.8}),
        ("momentum", optim.cosine_decay(0.1, 40), {}),
        ("adamw", optim.step_decay(0.01, 10, 0.5), {"weight_decay": 0.1}),
        ("gd", optim.ReduceOnPlateau(0.5, patience=1, tol=0.1), {}),
    ],
)
def test_resumed_training_equals_uninterrupted_bit_for_bit(tmp_path, optimizer, learning_rate, options):
    X, Y = _data()
    straight = Network([3, 6, 3], activation="tanh", random_state=0)
    fit(
        straight,
        X,
        Y,
        optimizer=optimizer,
        learning_rate=learning_rate,
        epochs=8,
        batch_size=16,
        random_state=3,
        l2=1e-3,
        **options,
    )

    if isinstance(learning_rate, optim.ReduceOnPlateau):
        learning_rate = optim.ReduceOnPlateau(0.5, patience=1, tol=0.1)  # fresh state
    first = Network([3, 6, 3], activation="tanh", random_state=0)
    path = tmp_path / "ck.npz"
    fit(
        first,
        X,
        Y,
        optimizer=optimizer,
        learning_rate=learning_rate,
        epochs=5,
        batch_size=16,
        random_state=3,
        l2=1e-3,
        callbacks=[Checkpointer(path, every=5)],
        **options,
    )
    ck = load_checkpoint(path)
    assert ck.history.epochs == 5 and ck.trainer.steps == 5 * 6
    history = fit(
        ck.net, X, Y, optimizer=ck.trainer, history=ck.history, random_state=ck.rng, epochs=3, batch_size=16
    )
    assert history.epochs == 8
    for p, q in zip(ck.net.W + ck.net.b, straight.W + straight.b, strict=True):
        np.testing.assert_array_equal(p, q)


def test_best_checkpoint_holds_best_epoch(tmp_path):
    X, Y = _data()
    X_val, Y_val = _data(seed=1)
    net = Network([3, 32, 3], random_state=0)
    history = fit(
        net,
        X,
        Y,
        optimizer="adam",
        learning_rate=0.05,
        epochs=30,
        batch_size=8,
        validation_data=(X_val, Y_val),
        random_state=0,
        callbacks=[Checkpointer(tmp_path / "last.npz", every=10, best_path=tmp_path / "best.npz")],
    )
    best = load_checkpoint(tmp_path / "best.npz")
    assert best.history.epochs == history.best_epoch + 1
    assert best.net.loss(X_val, Y_val) == pytest.approx(min(history.val_loss))
    assert load_checkpoint(tmp_path / "last.npz").history.epochs == 30


def test_history_round_trip(tmp_path):
    X, Y = _data()
    net = Network([3, 3], random_state=0)
    trainer = Trainer(net, "gd", 0.1)
    history = fit(net, X, Y, optimizer=trainer, epochs=3, validation_fraction=0.25, random_state=0)
    save_checkpoint(tmp_path / "c.npz", trainer, history)
    restored = load_checkpoint(tmp_path / "c.npz")
    assert isinstance(restored.history, History)
    assert restored.history.loss == history.loss and restored.history.val_score == history.val_score
    assert restored.history.grad_norms == history.grad_norms
    assert restored.rng is None


def test_what_cannot_be_checkpointed(tmp_path):
    net = Network([3, 3], random_state=0)
    with pytest.raises(ValueError, match="custom"):
        save_checkpoint(tmp_path / "c.npz", Trainer(net, optim.gd(0.1)), History())
    with pytest.raises(ValueError, match="function of your own"):
        save_checkpoint(tmp_path / "c.npz", Trainer(net, "gd", lambda step: 0.1), History())
    with pytest.raises(RuntimeError, match="fit"):
        Checkpointer(tmp_path / "c.npz").on_epoch_end(0, History(), net)
    with pytest.raises(ValueError, match="'every'"):
        Checkpointer(tmp_path / "c.npz", every=0)


def test_plain_model_file_is_not_a_checkpoint(tmp_path):
    save(Network([3, 3], random_state=0), tmp_path / "m.npz")
    with pytest.raises(ModelFileError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "m.npz")


def test_a_checkpoint_whose_history_holds_non_finite_values_round_trips(tmp_path):
    net = Network([2, 3, 2], random_state=0)
    trainer = Trainer(net, "adam", 0.01)
    history = History(
        loss=[0.7, float("inf")], val_loss=[float("nan"), 0.5], grad_norms=[[1.0, float("inf")]]
    )
    save_checkpoint(tmp_path / "ck.npz", trainer, history)
    back = load_checkpoint(tmp_path / "ck.npz").history
    assert back.loss == [0.7, float("inf")] and np.isnan(back.val_loss[0]) and back.val_loss[1] == 0.5
    assert back.grad_norms == [[1.0, float("inf")]]


@pytest.mark.parametrize(
    "schedule",
    [
        optim.triangular(0.01, 0.1, 5),
        optim.triangular2(0.01, 0.1, 5),
        optim.exp_range(0.01, 0.1, 5, 0.99),
    ],
    ids=["triangular", "triangular2", "exp_range"],
)
def test_a_checkpoint_keeps_a_cyclical_schedule(tmp_path, schedule):
    trainer = Trainer(Network([2, 3, 2], random_state=0), "momentum", schedule)
    trainer.steps = 7
    save_checkpoint(tmp_path / "ck.npz", trainer, History())
    back = load_checkpoint(tmp_path / "ck.npz").trainer
    assert back.learning_rate == schedule and back.current_lr == schedule(7)
