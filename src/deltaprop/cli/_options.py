"""The options of ``deltaprop train``, ``gradcheck`` and ``explain``, each declared once.

Each field of an options dataclass (:class:`TrainOptions`, :class:`GradcheckOptions`,
:class:`ExplainOptions`, :class:`PlotOptions`) carries its option in ``Annotated`` metadata (names, help,
default), and :func:`options_command` gives a command the signature typer reads from
those fields: typer parses the command line, and the command receives one options
record.  A new option is one new field.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from deltaprop.cli._choices import DType, Init, Missing, Output, PlotKind, Schedule, Solver, Task, TraceFormat

O = TypeVar("O")
R = TypeVar("R")


def options_command(options: type[O]) -> Callable[[Callable[[O], R]], Callable[..., R]]:
    """Make ``command(opts: options)`` a typer command whose parameters are the fields of ``options``.

    ``options`` is a dataclass whose fields are ``Annotated[type, typer.Option(...)]`` (or
    ``typer.Argument``) with their defaults; typer reads them from the signature built here,
    in the order of the fields.
    """
    hints = typing.get_type_hints(options, include_extras=True)
    parameters = [
        inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=hints[field.name],
            default=inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default,
        )
        for field in dataclasses.fields(options)  # type: ignore[arg-type]
    ]

    def decorate(command: Callable[[O], R]) -> Callable[..., R]:
        @functools.wraps(command)
        def parsed(**values: Any) -> R:
            return command(options(**values))

        parsed.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        parsed.__annotations__ = {p.name: p.annotation for p in parameters}
        return parsed

    return decorate


def plain(options: Any) -> dict[str, Any]:
    """The fields of an options dataclass as JSON values: paths as text, choices as their values."""

    def value(v: Any) -> Any:
        return v.value if isinstance(v, Enum) else str(v) if isinstance(v, Path) else v

    return {field.name: value(getattr(options, field.name)) for field in dataclasses.fields(options)}


@dataclasses.dataclass
class TrainOptions:
    """The options of ``deltaprop train``, as given on the command line."""

    data: Annotated[Path, typer.Argument(help="Training data: a .csv or .parquet file.", show_default=False)]
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.", show_default=False)]
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The model file to write (.npz).", show_default=False)
    ]
    task: Annotated[
        Task | None,
        typer.Option(help="Default: detected from the target (text or few integers: classification)."),
    ] = None
    hidden: Annotated[
        str, typer.Option(help="Hidden layer widths M_1,...,M_(D-1), e.g. 64,32; 'none' for none.")
    ] = "32"
    activation: Annotated[
        str, typer.Option(help="The hidden layers' sigma: one name, or one per layer (relu,tanh).")
    ] = "relu"
    output: Annotated[
        Output | None, typer.Option(help="Default: softmax for classification, identity for regression.")
    ] = None
    init: Annotated[Init, typer.Option(help="Initial weights.")] = Init.glorot
    solver: Annotated[
        Solver, typer.Option(help="gd is the lecture's step; sgd is Nesterov momentum 0.9.")
    ] = Solver.adam
    lr: Annotated[float, typer.Option("--lr", help="The learning rate eta.")] = 0.01
    schedule: Annotated[
        Schedule,
        typer.Option(
            help="eta over time: constant; invscaling eta/sqrt(t+1); step halves it every quarter of the "
            "epochs; cosine decays to 0; plateau divides by 5 after 5 epochs without improvement."
        ),
    ] = Schedule.constant
    epochs: Annotated[int, typer.Option(help="Passes over the training rows.")] = 100
    batch_size: Annotated[
        str,
        typer.Option(help="Rows per step: an integer, 'full', or 'auto' (full for gd, else min(200, n))."),
    ] = "auto"
    l2: Annotated[
        float | None,
        typer.Option("--l2", help="The lecture's lambda: penalty lambda/2 ||w||^2 on the weights."),
    ] = None
    alpha: Annotated[
        float | None,
        typer.Option(help="scikit-learn's L2 strength instead of --l2: lambda = alpha / batch size."),
    ] = None
    validation: Annotated[float, typer.Option(help="Share of rows held out for validation (0: none).")] = 0.1
    early_stopping: Annotated[
        bool, typer.Option("--early-stopping", help="Stop when the validation loss stops improving.")
    ] = False
    patience: Annotated[int, typer.Option(help="Epochs without improvement before early stopping.")] = 10
    seed: Annotated[int, typer.Option(help="Seeds the weights, the split and the shuffling.")] = 0
    dtype: Annotated[DType, typer.Option(help="Floating-point precision of the network.")] = DType.float64
    missing: Annotated[
        Missing, typer.Option(help="Missing values: refuse (name them), or impute median / most frequent.")
    ] = Missing.refuse
    drop: Annotated[str, typer.Option(help="Columns to leave out, comma-separated (e.g. an id).")] = ""
    report: Annotated[
        Path | None,
        typer.Option(help="Also write an HTML report (curves, metrics, figures) into this folder."),
    ] = None
    checkpoint: Annotated[
        Path | None, typer.Option(help="Save the training state to this file after every epoch.")
    ] = None
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue from a --checkpoint file: same data and options; --epochs counts all epochs."
        ),
    ] = None
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False
    dask: Annotated[
        str | None,
        typer.Option(
            help="Train on Dask: 'local' or 'local:N' starts a local cluster of N workers, "
            "'tcp://host:port' joins a scheduler; DATA may then be a Parquet directory or a glob "
            "of CSV/Parquet files (quote it), read lazily.",
            show_default=False,
        ),
    ] = None
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace an existing --out or --checkpoint file that is not a model file."
        ),
    ] = False


_MODEL_HELP = "Use this model file's network instead of --sizes/--activation/--output."


@dataclasses.dataclass
class GradcheckOptions:
    """The options of ``deltaprop gradcheck``."""

    sizes: Annotated[str, typer.Option(help="Layer widths M_0,...,M_D.")] = "4,8,3"
    activation: Annotated[str, typer.Option(help="Hidden activation(s).")] = "tanh"
    output: Annotated[Output, typer.Option(help="Output unit with its loss.")] = Output.softmax
    samples: Annotated[int, typer.Option(help="Random samples in the batch.")] = 5
    seed: Annotated[int, typer.Option(help="Seeds the network and the samples.")] = 0
    l2: Annotated[float, typer.Option("--l2", help="The lecture's lambda.")] = 0.0
    model: Annotated[Path | None, typer.Option(help=_MODEL_HELP)] = None
    tol: Annotated[float, typer.Option(help="Exit with 1 if a relative error is above this.")] = 1e-7


@dataclasses.dataclass
class ExplainOptions:
    """The options of ``deltaprop explain``."""

    sizes: Annotated[str, typer.Option(help="Layer widths M_0,...,M_D.")] = "2,3,2"
    activation: Annotated[str, typer.Option(help="Hidden activation(s).")] = "tanh"
    output: Annotated[Output, typer.Option(help="Output unit with its loss.")] = Output.softmax
    seed: Annotated[int, typer.Option(help="Seeds the network and the random sample.")] = 0
    model: Annotated[Path | None, typer.Option(help=_MODEL_HELP)] = None
    data: Annotated[Path | None, typer.Option(help="Trace rows of this file (needs --model).")] = None
    row: Annotated[int, typer.Option(help="The first row of DATA traced (0-based).")] = 0
    samples: Annotated[int, typer.Option(help="Samples in the batch (1: the lecture's per-sample view).")] = 1
    lr: Annotated[float, typer.Option("--lr", help="eta of the gradient step shown at the end.")] = 0.1
    l2: Annotated[float, typer.Option("--l2", help="The lecture's lambda.")] = 0.0
    form: Annotated[TraceFormat, typer.Option("--format", help="How to print the trace.")] = TraceFormat.text
    digits: Annotated[int, typer.Option(help="Decimals shown.")] = 4
    document: Annotated[bool, typer.Option("--document", help="With --format latex: a whole .tex file.")] = (
        False
    )
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead.")] = None


@dataclasses.dataclass
class PlotOptions:
    """The options of ``deltaprop plot``."""

    kind: Annotated[PlotKind, typer.Argument(help="The figure to draw.", show_default=False)]
    model: Annotated[Path | None, typer.Option(help="A model file (all kinds but activations).")] = None
    data: Annotated[
        Path | None, typer.Option(help="Rows to draw (decision-regions, confusion-matrix, ...).")
    ] = None
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The PNG file (default: KIND.png).")] = None
    activations: Annotated[str, typer.Option(help="For activations: the names to draw.")] = (
        "sigmoid,tanh,relu"
    )
    layer: Annotated[int, typer.Option(help="For neuron-maps: the layer h whose units are drawn.")] = 1
    dpi: Annotated[int, typer.Option(help="Resolution of the PNG (20 to 1200).")] = 150
