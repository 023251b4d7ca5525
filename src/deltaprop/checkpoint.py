"""Checkpoints: save training as it goes, resume it later, bit for bit.

A checkpoint is a model file (:mod:`deltaprop.modelfile`, same safe format) holding
the network, the optimiser state (moments, step count), the learning-rate schedule's
state, the :class:`~deltaprop.train.History` so far and the shuffling generator's
state.  Resuming from it continues exactly where training stopped: the same seed
gives the same weights whether training ran in one go or was interrupted and resumed.

>>> import tempfile, numpy as np
>>> from pathlib import Path
>>> from deltaprop.network import Network
>>> from deltaprop.train import fit
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(64, 2)); Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
>>> net = Network([2, 4, 2], random_state=0)
>>> path = Path(tempfile.mkdtemp()) / "ck.npz"
>>> h = fit(net, X, Y, optimizer="adam", learning_rate=0.01, epochs=3, batch_size=16,
...         random_state=0, callbacks=[Checkpointer(path, every=1)])
>>> ck = load_checkpoint(path)
>>> h = fit(ck.net, X, Y, optimizer=ck.trainer, history=ck.history, random_state=ck.rng, epochs=2)
>>> ck.history.epochs
5
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from deltaprop import optim, schedules
from deltaprop._checks import check_scalar
from deltaprop.modelfile import ModelFileError, load_file, save
from deltaprop.network import Network
from deltaprop.train import Callback, History, Trainer

_SCHEDULES = {
    "constant": schedules.constant,
    "inverse_scaling": schedules.inverse_scaling,
    "step_decay": schedules.step_decay,
    "cosine_decay": schedules.cosine_decay,
    "triangular": schedules.triangular,
    "triangular2": schedules.triangular2,
    "exp_range": schedules.exp_range,
}


def _schedule_to_json(learning_rate: Any) -> dict[str, Any] | None:
    """A JSON description of a learning rate, or None for a user's own callable."""
    if isinstance(learning_rate, (int, float)):
        return {"kind": "number", "value": float(learning_rate)}
    if isinstance(learning_rate, schedules.ReduceOnPlateau):
        state = {k: getattr(learning_rate, k) for k in ("factor", "patience", "tol", "min_lr", "lr")}
        best = learning_rate.best
        return {
            "kind": "reduce_on_plateau",
            "initial_lr": learning_rate.initial_lr,
            "best": None if best == float("inf") else best,
            "bad_epochs": learning_rate.bad_epochs,
            **state,
        }
    if isinstance(learning_rate, schedules.Record) and learning_rate._factory in _SCHEDULES:
        return {"kind": learning_rate._factory, **learning_rate.as_dict()}
    return None


def _schedule_from_json(spec: dict[str, Any]) -> schedules.LearningRate:
    kind = spec.pop("kind")
    if kind == "number":
        return float(spec["value"])
    if kind == "reduce_on_plateau":
        schedule = schedules.ReduceOnPlateau(
            spec["initial_lr"], spec["factor"], spec["patience"], spec["tol"], spec["min_lr"]
        )
        schedule.lr = spec["lr"]
        schedule.best = float("inf") if spec["best"] is None else spec["best"]
        schedule.bad_epochs = spec["bad_epochs"]
        return schedule
    return _SCHEDULES[kind](**spec)  # type: ignore[operator]


def save_checkpoint(
    path: str | PathLike[str],
    trainer: Trainer,
    history: History,
    rng: np.random.Generator | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write the state of training to ``path`` atomically (see :mod:`deltaprop.modelfile`).

    ``metadata`` (JSON values) is stored beside the training state and comes back as
    :attr:`Checkpoint.metadata`: the command line keeps the options of the run there.
    """
    if trainer.optimizer_name is None:
        raise ValueError(
            "Only a Trainer built from an optimizer name can be checkpointed; a custom "
            "GradientTransformation cannot be described in a file."
        )
    schedule = _schedule_to_json(trainer.learning_rate)
    if schedule is None:
        raise ValueError(
            f"The learning rate {trainer.learning_rate!r} is a function of your own and cannot be "
            "stored; use a number or a schedule of deltaprop.schedules."
        )
    metadata = {
        "checkpoint": {
            "optimizer": trainer.optimizer_name,
            "options": trainer.options,
            "learning_rate": schedule,
            "l2": trainer.l2,
            "steps": trainer.steps,
            "history": history.to_json(),
            "rng": None if rng is None else rng.bit_generator.state,
        },
        "run": {} if metadata is None else metadata,
    }
    arrays = optim.state_to_arrays(trainer.state, prefix="optimizer")
    return save(trainer.net, path, metadata=metadata, arrays=arrays)


class Checkpoint(NamedTuple):
    """Training restored from a file: pass ``trainer``, ``history`` and ``rng`` to ``fit``.

    ``metadata`` is what :func:`save_checkpoint` was given (empty if nothing).
    """

    trainer: Trainer
    history: History
    rng: np.random.Generator | None
    metadata: dict[str, Any] = {}  # noqa: RUF012 (a NamedTuple default is never mutated here)

    @property
    def net(self) -> Network:
        """The network, with the checkpoint's parameters."""
        return self.trainer.net


def load_checkpoint(path: str | PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` or :class:`Checkpointer`.

    Raises
    ------
    ModelFileError
        If the file is not a valid model file, or is a model file without training state.
    """
    model = load_file(path)
    spec = model.metadata.get("checkpoint") if isinstance(model.metadata, dict) else None
    if not isinstance(spec, dict):
        raise ModelFileError(
            f"{str(path)!r} is a model file without training state; it is not a checkpoint "
            "(load it with deltaprop.modelfile.load)."
        )
    try:
        trainer = Trainer(
            model.network,
            spec["optimizer"],
            _schedule_from_json(dict(spec["learning_rate"])),
            spec["l2"],
            **spec["options"],
        )
        trainer.state = optim.state_from_arrays(trainer.state, model.arrays, prefix="optimizer")
        trainer.steps = int(spec["steps"])
        history = History.from_json(spec["history"])
        rng = None
        if spec["rng"] is not None:
            rng = np.random.default_rng()
            rng.bit_generator.state = spec["rng"]
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"The checkpoint {str(path)!r} has invalid training state: {error}") from None
    run = model.metadata.get("run")
    return Checkpoint(trainer, history, rng, run if isinstance(run, dict) else {})


class Checkpointer(Callback):
    """A :func:`~deltaprop.train.fit` callback that writes checkpoints while training.

    Parameters
    ----------
    path : path
        Written every ``every`` epochs and at the last epoch.
    every : int, default 1
        Epochs between checkpoints.
    best_path : path, optional
        Also written whenever an epoch is the best so far (``history.best_epoch``).
    metadata : dict, optional
        JSON values stored with every checkpoint (:attr:`Checkpoint.metadata`).
    """

    def __init__(
        self,
        path: str | PathLike[str],
        every: int = 1,
        best_path: str | PathLike[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.metadata = metadata
        self.every = int(check_scalar(every, "every", low=1, integer=True))
        self.best_path = None if best_path is None else Path(best_path)
        self.trainer: Trainer | None = None
        self.rng: np.random.Generator | None = None

    def on_train_begin(self, trainer: Trainer, rng: np.random.Generator) -> None:
        self.trainer, self.rng = trainer, rng

    def on_epoch_end(self, epoch: int, history: History, net: Network) -> bool | None:
        if self.trainer is None:
            raise RuntimeError("Checkpointer is a fit() callback: pass it in fit(callbacks=[...]).")
        if (epoch + 1) % self.every == 0:
            save_checkpoint(self.path, self.trainer, history, self.rng, self.metadata)
        if self.best_path is not None and history.best_epoch == epoch:
            save_checkpoint(self.best_path, self.trainer, history, self.rng, self.metadata)
        return None
