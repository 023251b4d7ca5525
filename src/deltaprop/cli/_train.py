"""What ``deltaprop train`` does: read the data, fit the network, write the results.

:func:`run_train` checks the options (:func:`check_options`) and then takes three steps:

1. :func:`read_data`: read the table, check the target and ``--drop``, decide the task,
   split off the validation rows and fit the preprocessing on the training rows;
2. :func:`fit_network`: build the network and its optimiser (or take both from the
   ``--resume`` checkpoint) and train it;
3. :func:`write_results`: save the model file (and the ``--report``) and print the summary.

One generator, seeded by ``--seed``, draws the split and then the shuffling.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape

from deltaprop import schedules
from deltaprop.checkpoint import Checkpoint, Checkpointer, load_checkpoint
from deltaprop.cli._data import TrainedModel, no_column, read_table, save_model
from deltaprop.cli._errors import UserError, user_input
from deltaprop.cli._options import TrainOptions, plain
from deltaprop.cli._parse import check_seed, parse_activations, parse_batch_size, parse_sizes
from deltaprop.cli._predict import model_scores
from deltaprop.network import Network
from deltaprop.preprocessing import Preprocessor, detect_task
from deltaprop.train import Callback, History, Trainer, fit, split_validation


@dataclass
class TrainingData:
    """The rows of the data file, split, with the preprocessing learned on the training rows."""

    task: str
    preprocessor: Preprocessor
    train_frame: pd.DataFrame
    val_frame: pd.DataFrame | None


def run_train(opts: TrainOptions, console: Console) -> TrainedModel:
    """Read the data, fit the preprocessing and the network, save the model (and the report)."""
    started = time.perf_counter()
    hidden, activation = check_options(opts)
    rng = np.random.default_rng(opts.seed)
    data = read_data(opts, rng, console)
    model = fit_network(opts, data, hidden, activation, rng, console)
    write_results(opts, data, model, started, console)
    return model


# ------------------------------------------------------------------ options
def check_options(opts: TrainOptions) -> tuple[list[int], str | list[str]]:
    """Check the options that do not depend on the data; return the hidden sizes and activations."""
    hidden = parse_sizes(opts.hidden, "--hidden", allow_empty=True)
    activation = parse_activations(opts.activation, len(hidden))
    parse_batch_size(opts.batch_size, opts.solver.value, 1)
    if not (opts.lr > 0 and math.isfinite(opts.lr)):
        raise UserError(f"--lr must be a positive number; got {opts.lr}.")
    if opts.l2 is not None and opts.alpha is not None:
        raise UserError("Give either --l2 (the lecture's lambda) or --alpha (scikit-learn's), not both.")
    for value, option in ((opts.l2, "--l2"), (opts.alpha, "--alpha")):
        if value is not None and not (value >= 0 and math.isfinite(value)):
            raise UserError(f"{option} must be a non-negative number; got {value}.")
    if opts.epochs < 1:
        raise UserError(f"--epochs must be at least 1; got {opts.epochs}.")
    if opts.patience < 1:
        raise UserError(f"--patience must be at least 1; got {opts.patience}.")
    if not 0 <= opts.validation < 1:
        raise UserError(f"--validation must be a fraction in [0, 1); got {opts.validation}.")
    check_seed(opts.seed)
    return hidden, activation


def make_schedule(name: str, lr: float, epochs: int, steps_per_epoch: int) -> schedules.LearningRate:
    """The learning rate (a number or a schedule) that --schedule names."""
    if name == "constant":
        return lr
    if name == "invscaling":
        return schedules.inverse_scaling(lr, power_t=0.5)
    if name == "step":
        return schedules.step_decay(lr, step_size=steps_per_epoch * max(1, epochs // 4), gamma=0.5)
    if name == "cosine":
        return schedules.cosine_decay(lr, total_steps=max(1, epochs * steps_per_epoch))
    return schedules.ReduceOnPlateau(lr, factor=0.2, patience=5)


def check_output(output: str | None, prep: Preprocessor) -> tuple[str, int]:
    """The output unit and the number K of output units for the task."""
    if prep.task == "regression":
        if output not in (None, "identity"):
            raise UserError(f"--output {output} is for classification; regression uses --output identity.")
        return "identity", 1
    K = prep.n_outputs
    if output in (None, "softmax"):
        return "softmax", K
    if output == "sigmoid":
        if K != 2:
            raise UserError(f"--output sigmoid needs two classes (one output unit); the target has {K}.")
        return "sigmoid", 1
    raise UserError(
        "--output identity is for regression; classification uses softmax (or sigmoid for 2 classes)."
    )


# --------------------------------------------------------------------- read
def read_data(opts: TrainOptions, rng: np.random.Generator, console: Console) -> TrainingData:
    """The data file's rows without --drop's columns, split, and the preprocessing of the training rows."""
    frame = read_table(opts.data)
    if opts.target not in frame.columns:
        raise no_column(opts.target, opts.data, frame)
    dropped = [c.strip() for c in opts.drop.split(",") if c.strip()]
    unknown = [c for c in dropped if c not in frame.columns or c == opts.target]
    if unknown:
        raise UserError(f"--drop names {unknown}, which are not feature columns of '{opts.data}'.")
    frame = frame.drop(columns=dropped)
    if opts.task is None:
        task, reason = detect_task(frame[opts.target])
        console.print(f"Task: [bold]{task}[/bold], since {escape(reason)}; --task chooses another.")
    else:
        task = opts.task.value
        console.print(f"Task: [bold]{task}[/bold] (as given).")
    train_frame, val_frame = split_rows(frame, opts.target, task, opts.validation, rng)
    with user_input():  # the training rows' columns and values
        prep = Preprocessor.fit(train_frame, opts.target, task=task, missing=opts.missing.value)
    console.print(f"Preprocessing: {escape(prep.summary())}.")
    if prep.classes is not None:
        console.print(f"Classes: {escape(', '.join(str(c) for c in prep.classes))}.")
    return TrainingData(task, prep, train_frame, val_frame)


def split_rows(
    frame: pd.DataFrame, target: str, task: str, fraction: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Training and validation rows; per class for classification, keeping one of each class for training."""
    n = len(frame)
    if fraction == 0 or round(fraction * n) == 0:
        return frame, None
    # Classes in the order they first appear, so that a seed keeps its split.
    labels = pd.factorize(frame[target])[0] if task == "classification" else None
    train, val = split_validation(n, fraction, rng, labels=labels, keep_one_per_class=True)
    if val.size == 0 or train.size == 0:
        return frame, None
    return frame.iloc[train], frame.iloc[val]


# ---------------------------------------------------------------------- fit
def fit_network(
    opts: TrainOptions,
    data: TrainingData,
    hidden: list[int],
    activation: str | list[str],
    rng: np.random.Generator,
    console: Console,
) -> TrainedModel:
    """Build the network and its optimiser (or resume them) and train on the training rows."""
    prep = data.preprocessor
    net = build_network(opts, prep, hidden, activation)
    sizes, K = net.sizes, net.sizes[-1]
    with user_input():
        X, Y = prep.transform(data.train_frame), prep.encode_target(data.train_frame, K)
        validation = None
        if data.val_frame is not None:
            validation = (prep.transform(data.val_frame), prep.encode_target(data.val_frame, K))
    n = X.shape[0]
    batch_size = parse_batch_size(opts.batch_size, opts.solver.value, n)
    history: History | None = None
    epochs = opts.epochs
    if opts.resume is None:
        trainer = new_trainer(opts, net, batch_size, math.ceil(n / batch_size))
    else:
        checkpoint = resume(opts.resume, sizes)
        trainer, history, rng = checkpoint.trainer, checkpoint.history, checkpoint.rng or rng
        net, epochs = trainer.net, max(opts.epochs - history.epochs, 0)
        console.print(
            f"Resuming from '{escape(str(opts.resume))}' after {history.epochs} epochs; "
            f"{epochs} to go (--epochs counts them all)."
        )
    console.print(
        f"Network {sizes} ({escape(str(activation))} hidden, {net.output.name} output), {opts.solver.value} "
        f"with learning rate {opts.lr:g} ({opts.schedule.value}), batch size {batch_size}, lambda "
        f"{trainer.l2:g}; {n} training and {0 if validation is None else len(validation[0])} validation rows."
    )
    callbacks: list[Callback] = []
    if opts.checkpoint is not None:
        opts.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(Checkpointer(opts.checkpoint, every=1))
    # The Trainer carries the optimiser, the learning rate and lambda (a resumed one, the checkpoint's).
    history = fit(
        net,
        X,
        Y,
        optimizer=trainer,
        epochs=epochs,
        history=history,
        batch_size=batch_size,
        random_state=rng,
        validation_data=validation,
        early_stopping=opts.early_stopping,
        n_iter_no_change=opts.patience,
        callbacks=callbacks,
        verbose=not opts.quiet,
    )
    if history.stop_reason == "interrupted":
        console.print(
            f"[yellow]Interrupted after {history.epochs} epochs; saving the weights so far.[/yellow]"
        )
    training = plain(opts) | {
        "l2_used": trainer.l2,
        "batch_size_used": batch_size,
        "sizes": sizes,
        "output_used": net.output.name,
        "task_used": data.task,
    }
    return TrainedModel(net, prep, history, training)


def build_network(
    opts: TrainOptions, prep: Preprocessor, hidden: list[int], activation: str | list[str]
) -> Network:
    """The network [d, hidden..., K] for the preprocessed inputs and the task, initialised by --seed."""
    output, K = check_output(None if opts.output is None else opts.output.value, prep)
    with user_input("--hidden, --activation, --init, --dtype"):
        return Network(
            [prep.n_features, *hidden, K],
            activation,
            output,
            init=opts.init.value,
            random_state=opts.seed,
            dtype=opts.dtype.value,
        )


def new_trainer(opts: TrainOptions, net: Network, batch_size: int, steps_per_epoch: int) -> Trainer:
    """The optimiser that trains ``net``: --solver, --lr with its --schedule, and lambda (--l2 or --alpha)."""
    l2 = opts.alpha / batch_size if opts.alpha is not None else (opts.l2 or 0.0)
    with user_input("--solver, --lr, --schedule, --l2, --alpha"):
        learning_rate = make_schedule(opts.schedule.value, opts.lr, opts.epochs, steps_per_epoch)
        return Trainer(net, opts.solver.value, learning_rate, l2)


def resume(path: Path, sizes: list[int]) -> Checkpoint:
    """The checkpoint at ``path``, whose network must have the ``sizes`` that the data and options make.

    Same data, seed and options give the same preprocessing and split; the checkpoint
    brings the weights, the optimiser with its state, the history and the generator.
    """
    checkpoint = load_checkpoint(path)
    if checkpoint.net.sizes != sizes:
        raise UserError(
            f"The checkpoint '{path}' holds a network {checkpoint.net.sizes}, but these data "
            f"and options make {sizes}; resume with the options of the interrupted run."
        )
    return checkpoint


# ------------------------------------------------------------------- report
def write_results(
    opts: TrainOptions, data: TrainingData, model: TrainedModel, started: float, console: Console
) -> None:
    """Save the model file, print the summary, and write the --report."""
    save_model(model, opts.out)
    history = model.history
    summary = f"loss {history.loss[-1]:.4f}"
    if history.val_loss:
        summary += f", validation loss {history.val_loss[-1]:.4f}"
    which, rows = ("training", data.train_frame) if data.val_frame is None else ("validation", data.val_frame)
    scores = model_scores(model.network, data.preprocessor, rows)
    if data.preprocessor.classes is None:
        summary += f", {which} R^2 {scores['r2']:.3f}"
    else:
        summary += f", {which} accuracy {scores['accuracy']:.3f}"
    elapsed = time.perf_counter() - started
    console.print(
        f"Trained {history.epochs} epochs ({history.stop_reason}) in {elapsed:.1f} s: {summary}.\n"
        f"Saved the model to [bold]{escape(str(opts.out))}[/bold]."
    )
    if opts.report is not None:
        from deltaprop.report import training_report

        report = training_report(
            model.network,
            data.preprocessor,
            model.history,
            model.training,
            data.train_frame,
            data.val_frame,
            opts.data,
        )
        path = report.write(opts.report / "report.html")
        console.print(f"Report: [bold]{escape(str(path))}[/bold]")
