"""The ``deltaprop`` command line: train, predict, evaluate, inspect, and a demo.

    deltaprop train DATA --target COL --out MODEL    learn a network from a CSV or Parquet file
    deltaprop predict MODEL DATA --out FILE          labels (--proba: probabilities) or numbers
    deltaprop evaluate MODEL DATA                    a table of metrics (--json FILE saves them)
    deltaprop gradcheck                              backpropagation against finite differences
    deltaprop explain                                one backprop step, every quantity by name
    deltaprop plot KIND                              a figure as PNG
    deltaprop datasets [NAME --out FILE]             the data sets that ship, or one as a file
    deltaprop demo                                   a tour, written as one HTML report
    deltaprop playground                             a network training live in the browser
    deltaprop lab ...                                sharpness, edge of stability, range test, landscapes
    deltaprop exercise backprop / deltaprop grade    backprop exercises and their autograder

A user error (a missing file, an unknown column, a bad option value, a diverging
training, a model file of another format version ...) ends with a one-line message on
standard error and exit code 1; a usage error (an unknown option, a missing argument)
with typer's message and exit code 2; Ctrl-C with exit code 130 (train saves the weights
first); anything else is a bug in deltaprop and shows its traceback with a line on how
to report it (exit code 1).  Every command checks its output locations before it starts
(``cli._preflight``).  ``deltaprop --debug COMMAND``
shows the traceback of any error.  ``cli._errors`` says which errors are the user's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from deltaprop.cli._errors import EXIT_INTERRUPTED, one_line_errors, set_debug
from deltaprop.cli._lab import register as register_lab
from deltaprop.cli._options import (
    ExplainOptions,
    GradcheckOptions,
    PlotOptions,
    TrainOptions,
    options_command,
)

app = typer.Typer(
    name="deltaprop",
    help="Feedforward networks trained by gradient descent with explicit backpropagation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
DEMO_FOLDER = Path("demo-report")


def _version(value: bool) -> None:
    if value:
        from deltaprop._version import __version__

        typer.echo(f"deltaprop {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Feedforward networks trained by gradient descent with explicit backpropagation, in NumPy."""
    set_debug(debug)


# ---------------------------------------------------------------- train
@app.command()
@one_line_errors
@options_command(TrainOptions)
def train(options: TrainOptions) -> None:
    """Train a network on a CSV or Parquet file; the model file keeps the preprocessing learned."""
    if options.dask is not None:  # on a Dask cluster: deltaprop[dask]
        from deltaprop.cli._dask import run_train_dask

        model = run_train_dask(options, Console())
    else:
        from deltaprop.cli._train import run_train

        model = run_train(options, Console())
    if model.history.stop_reason == "interrupted":
        raise typer.Exit(EXIT_INTERRUPTED)


# ------------------------------------------------------- predict, evaluate
@app.command()
@one_line_errors
def predict(
    model: Annotated[
        Path, typer.Argument(help="A model file written by deltaprop train.", show_default=False)
    ],
    data: Annotated[Path, typer.Argument(help="Rows to predict: .csv or .parquet.", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output .csv or .parquet (default: CSV on standard output)."),
    ] = None,
    proba: Annotated[bool, typer.Option("--proba", help="Add a probability column per class.")] = False,
    keep_input: Annotated[bool, typer.Option("--keep-input", help="Put the input columns first.")] = False,
) -> None:
    """Predict every row of DATA: a label (or a number) per row, and class probabilities with --proba."""
    from deltaprop.cli._predict import run_predict

    run_predict(model, data, out, proba, keep_input, Console())


@app.command()
@one_line_errors
def evaluate(
    model: Annotated[
        Path, typer.Argument(help="A model file written by deltaprop train.", show_default=False)
    ],
    data: Annotated[
        Path, typer.Argument(help="Rows with true values: .csv or .parquet.", show_default=False)
    ],
    target: Annotated[
        str | None,
        typer.Option("--target", "-t", help="The column of true values (default: the model's target)."),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the metrics to this JSON file.")
    ] = None,
) -> None:
    """Print metrics: accuracy, log loss, per-class precision/recall/F1; or MSE, MAE, R^2."""
    from deltaprop.cli._predict import run_evaluate

    run_evaluate(model, data, target, json_path, Console())


# ---------------------------------------------------- gradcheck, explain
@app.command()
@one_line_errors
@options_command(GradcheckOptions)
def gradcheck(options: GradcheckOptions) -> None:
    """Compare backpropagation's gradient with finite differences, layer by layer."""
    from deltaprop.cli._tools import run_gradcheck

    run_gradcheck(options, Console())


@app.command()
@one_line_errors
@options_command(ExplainOptions)
def explain(options: ExplainOptions) -> None:
    """Trace one gradient step: every quantity of the lecture with its equation and shape."""
    from deltaprop.cli._tools import run_explain

    text = run_explain(options)
    if options.out is None:
        sys.stdout.write(text)
    else:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(text)
        Console().print(f"Wrote the trace to {escape(str(options.out))}.")


# ----------------------------------------------------- plot, datasets, demo
@app.command()
@one_line_errors
@options_command(PlotOptions)
def plot(options: PlotOptions) -> None:
    """Draw a figure of a model (or the activations) as a PNG file."""
    from deltaprop.cli._tools import run_plot

    path = run_plot(options)
    Console().print(f"Wrote {escape(str(path))}.")


@app.command()
@one_line_errors
def datasets(
    name: Annotated[
        str | None, typer.Argument(help="A data set to write as a file.", show_default=False)
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The .csv or .parquet file (default: NAME.csv).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated data sets.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """List the data sets that ship with deltaprop, or write one as a CSV or Parquet file."""
    from deltaprop.cli._tools import export_dataset, list_datasets

    if name is None:
        list_datasets(Console())
    else:
        export_dataset(name, out, seed, Console(), force=force)


@app.command()
@one_line_errors
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="The folder of the report.")] = DEMO_FOLDER,
    quick: Annotated[bool, typer.Option("--quick", help="Fewer epochs: a few seconds.")] = False,
    png: Annotated[bool, typer.Option("--png", help="Also write every figure as a PNG file.")] = False,
    seed: Annotated[int, typer.Option(help="Seeds data, weights and shuffling.")] = 0,
) -> None:
    """Run a short tour (moons, digits, diabetes, a backprop trace) and write one HTML report."""
    from deltaprop.cli._demo import run_demo
    from deltaprop.cli._parse import check_seed
    from deltaprop.cli._preflight import Output, check_outputs

    check_outputs([Output(out, "--out", "folder")])
    console = Console()
    path = run_demo(
        out, quick=quick, seed=check_seed(seed), png=png, log=lambda line: console.print(escape(line))
    )
    console.print(f"Report: [bold]{escape(str(path.resolve()))}[/bold]", soft_wrap=True)


@app.command()
@one_line_errors
def playground(
    port: Annotated[int, typer.Option(help="The port (0: any free one).")] = 8000,
    host: Annotated[str, typer.Option(help="Listen address (not loopback: a warning).")] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser.")] = False,
) -> None:
    """Train a network live in the browser: the lecture's network, its units, weights and backprop."""
    from deltaprop.cli._playground import run_playground

    run_playground(host, port, not no_browser, typer.echo)


register_lab(app)  # lab, exercise, grade: cli/_lab.py


def main() -> None:
    """The console script's entry point."""
    app()
