"""What ``deltaprop train`` does: read the data, fit the network, write the results.

:func:`run_train` checks the options (:func:`check_options`) and every output location
(:func:`check_locations`, before any work: see :mod:`deltaprop.cli._preflight`) and then
takes three steps:

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
from deltaprop.cli._parse import check_number, check_seed, parse_activations, parse_batch_size, parse_sizes
from deltaprop.cli._predict import model_scores
from deltaprop.cli._preflight import Output, check_memory, check_outputs, parameter_count
from deltaprop.network import Network
from deltaprop.preprocessing import Preprocessor, detect_task
from deltaprop.train import Callback, DivergenceError, History, Trainer, fit, split_validation

# The options a --resume must repeat: they make the preprocessing, the split, the network
# and the optimiser that the checkpoint continues (--epochs, --quiet and the outputs may change).
RESUMED_OPTIONS = (
    "target",
    "task",
    "hidden",
    "activation",
    "output",
    "init",
    "solver",
    "lr",
    "schedule",
    "batch_size",
    "l2",
    "alpha",
    "validation",
    "seed",
    "dtype",
    "missing",
    "drop",
)
# Copies of the parameters that training holds at once: the weights, the gradients, two
# optimiser moments, the best epoch's weights and the engine's working copy.
_PARAMETER_COPIES = 6


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
    check_locations(opts)
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
    check_number(opts.lr, "--lr", low=0, low_inclusive=False)
    if opts.l2 is not None and opts.alpha is not None:
        raise UserError("Give either --l2 (the lecture's lambda) or --alpha (scikit-learn's), not both.")
    for value, option in ((opts.l2, "--l2"), (opts.alpha, "--alpha")):
        if value is not None:
            check_number(value, option, low=0)
    check_number(opts.epochs, "--epochs", low=1, high=MAX_EPOCHS)
    check_number(opts.patience, "--patience", low=1)
    check_number(opts.validation, "--validation", low=0, high=1, high_inclusive=False)
    if opts.early_stopping and opts.validation == 0:
        raise UserError("--early-stopping watches the validation loss, so it needs --validation above 0.")
    check_seed(opts.seed)
    return hidden, activation


# More epochs than any run finishes; a larger number is a typo, and the History would outgrow memory.
MAX_EPOCHS = 10**7


def check_locations(opts: TrainOptions) -> None:
    """Pre-flight: the model file, checkpoint and report can be written, and none is an input."""
    outputs = [
        Output(opts.out, "--out", "model"),
        Output(opts.checkpoint, "--checkpoint", "model"),
        Output(opts.report, "--report", "folder"),
    ]
    check_outputs(outputs, [opts.data], force=opts.force)
    if opts.resume is not None:
        # --checkpoint may be the --resume file (training goes on writing it); the others may not.
        check_outputs([outputs[0], outputs[2]], [opts.resume], force=opts.force)
        if not opts.resume.is_file():
            raise UserError(f"--resume '{opts.resume}': there is no such checkpoint file.")


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
    if task == "regression" and len(frame) < 2:
        raise UserError(
            f"Regression needs at least two rows (a spread of the target); '{opts.data}' has one."
        )
    train_frame, val_frame = split_rows(frame, opts.target, task, opts.validation, rng)
    if opts.validation > 0 and val_frame is None:
        why = f"--validation {opts.validation:g} of {len(frame)} rows leaves too few validation rows" + (
            " (the split keeps one row of each class for training)" if task == "classification" else ""
        )
        if opts.early_stopping:
            raise UserError(f"--early-stopping needs validation rows, but {why}; raise --validation.")
        console.print(f"[yellow]Note: {escape(why)}; training without validation.[/yellow]")
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
    # R^2 needs two validation rows (one row has no variance to explain).
    if val.size < (2 if task == "regression" else 1) or train.size == 0:
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
    net = build_network(opts, prep, hidden, activation, rows=len(data.train_frame))
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
        checkpoint = resume(opts.resume, sizes, opts)
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
    callbacks: list[Callback] = [DivergenceGuard()]
    if opts.checkpoint is not None:
        opts.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(Checkpointer(opts.checkpoint, every=1, metadata={"cli": resumed_options(opts)}))
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
    return trained_model(opts, net, prep, history, trainer, batch_size, console)


def trained_model(
    opts: TrainOptions,
    net: Network,
    prep: Preprocessor,
    history: History,
    trainer: Trainer,
    batch_size: int,
    console: Console,
    **extra: object,
) -> TrainedModel:
    """The model to save, with what the run used recorded; says so if training was interrupted."""
    if history.stop_reason == "interrupted":
        console.print(
            f"[yellow]Interrupted after {history.epochs} epochs; saving the weights so far.[/yellow]"
        )
    training = plain(opts) | {
        "l2_used": trainer.l2,
        "batch_size_used": batch_size,
        "sizes": net.sizes,
        "output_used": net.output.name,
        "task_used": prep.task,
        **extra,
    }
    return TrainedModel(net, prep, history, training)


class DivergenceGuard(Callback):
    """Stop with the divergence advice as soon as an epoch's loss or validation loss is not finite.

    The training loss is watched inside every step; the validation loss only here, so a
    network whose validation outputs overflow is caught at the epoch it happens, before a
    checkpoint or the model file would have to store a NaN.
    """

    def on_epoch_end(self, epoch: int, history: History, net: Network) -> bool | None:
        for name in ("loss", "val_loss"):
            values = getattr(history, name)
            if values and not math.isfinite(values[-1]):
                what = "training loss" if name == "loss" else "validation loss"
                raise DivergenceError(
                    f"The {what} became {values[-1]} at epoch {epoch + 1}: training diverged. Try a lower "
                    "--lr, or another --solver (adam adapts its steps)."
                )
        return None


def estimated_bytes(sizes: list[int], rows: int, dtype: str) -> int:
    """Memory that training a network of ``sizes`` on ``rows`` rows holds at once, roughly."""
    itemsize = np.dtype(dtype).itemsize
    activations = 3 * rows * sum(sizes)  # a, z and delta of every layer, for all rows at once
    return itemsize * (_PARAMETER_COPIES * parameter_count(sizes) + activations)


def build_network(
    opts: TrainOptions, prep: Preprocessor, hidden: list[int], activation: str | list[str], rows: int = 0
) -> Network:
    """The network [d, hidden..., K] for the preprocessed inputs and the task, initialised by --seed.

    Refused up front, with its estimated size, if training it cannot fit in memory.
    """
    output, K = check_output(None if opts.output is None else opts.output.value, prep)
    sizes = [prep.n_features, *hidden, K]
    check_memory(
        estimated_bytes(sizes, rows, opts.dtype.value),
        f"Training the network {sizes} ({parameter_count(sizes):,} parameters) on {rows} rows",
        "use smaller --hidden widths",
    )
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


def resumed_options(opts: TrainOptions) -> dict[str, object]:
    """The options that a --resume of this run must repeat, as JSON values."""
    values = plain(opts)
    return {name: values[name] for name in RESUMED_OPTIONS}


def resume(path: Path, sizes: list[int], opts: TrainOptions) -> Checkpoint:
    """The checkpoint at ``path``, whose network and options must be those these data and options make.

    Same data, seed and options give the same preprocessing and split; the checkpoint
    brings the weights, the optimiser with its state, the history and the generator.  A
    changed --solver, --lr, --seed ... would be ignored (the checkpoint's optimiser goes
    on) or change the split, so it is refused, naming each difference.
    """
    checkpoint = load_checkpoint(path)
    if checkpoint.net.sizes != sizes:
        raise UserError(
            f"The checkpoint '{path}' holds a network {checkpoint.net.sizes}, but these data "
            f"and options make {sizes}; resume with the options of the interrupted run."
        )
    stored = checkpoint.metadata.get("cli")
    if isinstance(stored, dict):
        given = resumed_options(opts)
        changed = [
            f"--{name.replace('_', '-')} {given[name]} (the checkpoint's: {stored[name]})"
            for name in RESUMED_OPTIONS
            if name in stored and stored[name] != given[name]
        ]
    else:  # a checkpoint written by the library: its optimiser is all it records
        name = checkpoint.trainer.optimizer_name
        changed = (
            [] if name == opts.solver.value else [f"--solver {opts.solver.value} (the checkpoint's: {name})"]
        )
    if changed:
        raise UserError(
            f"--resume '{path}' continues a run with other options: {'; '.join(changed)}. Resume with the "
            "options of the interrupted run (only --epochs and the outputs may change)."
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
