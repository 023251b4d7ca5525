"""What ``deltaprop gradcheck``, ``explain``, ``plot`` and ``datasets`` do, behind their options."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from deltaprop import datasets
from deltaprop._types import Array
from deltaprop.cli._choices import PlotKind, TraceFormat
from deltaprop.cli._data import load_model, read_table, table_format, write_table
from deltaprop.cli._errors import UserError, user_input
from deltaprop.cli._options import ExplainOptions, GradcheckOptions, PlotOptions
from deltaprop.cli._parse import (
    check_number,
    check_seed,
    parse_activation_names,
    parse_activations,
    parse_sizes,
)
from deltaprop.cli._preflight import Output, check_memory, check_outputs, format_bytes, parameter_count
from deltaprop.gradcheck import GradientReport, check_gradients
from deltaprop.network import Network
from deltaprop.preprocessing import Preprocessor

PLOT_KINDS = tuple(kind.value for kind in PlotKind)
# The largest random batch gradcheck and explain draw: more samples add nothing to a check.
MAX_SAMPLES = 100_000
# A gradient check estimated to take longer than this is refused (it would look hung);
# one longer than GRADCHECK_NOTE_S is announced with its estimate.
GRADCHECK_LIMIT_S = 3600.0
GRADCHECK_NOTE_S = 5.0
MAX_DPI = 1200
MIN_DPI = 20  # below, FreeType cannot size the fonts
MAX_PIXELS = 100_000_000  # a PNG of 100 megapixels: 400 MB of RGBA before it is compressed


def network_from_options(sizes: str, activation: str, output: str, seed: int) -> Network:
    """A network described by --sizes, --activation, --output and --seed."""
    widths = parse_sizes(sizes, "--sizes")
    if len(widths) < 2:
        raise UserError(f"--sizes needs at least two layer widths (inputs and outputs); got {sizes!r}.")
    activations = parse_activations(activation, len(widths) - 2)
    check_memory(
        8 * 3 * parameter_count(widths),  # float64 weights, gradients and the check's copy
        f"The network {widths} ({parameter_count(widths):,} parameters)",
        "use smaller --sizes",
    )
    with user_input("--sizes, --activation, --output"):
        return Network(widths, activations, output, random_state=check_seed(seed))


def random_problem(net: Network, samples: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """Standard normal inputs and targets of the kind the output unit expects."""
    check_number(samples, "--samples", low=1, high=MAX_SAMPLES)
    d, K = net.sizes[0], net.sizes[-1]
    check_memory(
        8 * samples * 3 * sum(net.sizes), f"{samples} samples through {net.sizes}", "use fewer --samples"
    )
    X = rng.normal(size=(samples, d))
    if net.output.name == "softmax":
        return X, np.eye(K)[rng.integers(0, K, samples)]
    if net.output.name == "sigmoid":
        return X, rng.integers(0, 2, (samples, K)).astype(np.float64)
    return X, rng.normal(size=(samples, K))


def _network(model: Path | None, sizes: str, activation: str, output: str, seed: int) -> tuple[Network, str]:
    if model is not None:
        return load_model(model).network, f"the network of '{model}'"
    net = network_from_options(sizes, activation, output, seed)
    return net, "a network"


# ---------------------------------------------------------------- gradcheck
def run_gradcheck(opts: GradcheckOptions, console: Console) -> GradientReport:
    """Per-layer relative errors of backpropagation against finite differences, as a table.

    A UserError if one is above ``--tol``.
    """
    check_number(opts.tol, "--tol", low=0, low_inclusive=False)
    check_number(opts.l2, "--l2", low=0)
    net, what = _network(opts.model, opts.sizes, opts.activation, opts.output.value, opts.seed)
    X, Y = random_problem(net, opts.samples, np.random.default_rng(check_seed(opts.seed)))
    seconds = gradcheck_seconds(net, X, Y, opts.l2)
    if seconds > GRADCHECK_LIMIT_S:
        raise UserError(
            f"The gradient check of {net.sizes} would take about {seconds / 3600:.1f} hours "
            f"(4 loss evaluations for each of {parameter_count(net.sizes):,} parameters); use smaller "
            "--sizes or fewer --samples."
        )
    if seconds > GRADCHECK_NOTE_S:
        console.print(
            f"Checking {parameter_count(net.sizes):,} parameters takes about {seconds:.0f} s "
            "(4 loss evaluations each)."
        )
    with user_input("--l2"):
        report = check_gradients(net, X, Y, l2=opts.l2)
    table = Table(
        title=f"Gradient check of {escape(what)} {net.sizes}, {opts.samples} random samples, "
        f"lambda {opts.l2:g}"
    )
    table.add_column("layer h", justify="right")
    table.add_column("rel. error dL/dW^(h)", justify="right")
    table.add_column("rel. error dL/db^(h)", justify="right")
    for layer in report.layers:
        table.add_row(str(layer.h), f"{layer.W:.3e}", f"{layer.b:.3e}")
    console.print(table)
    if report.max_rel_error > opts.tol:
        raise UserError(f"The largest relative error {report.max_rel_error:.3e} is above --tol {opts.tol:g}.")
    console.print(f"[green]All relative errors are below {opts.tol:g}: backpropagation is right.[/green]")
    return report


def gradcheck_seconds(net: Network, X: Array, Y: Array, l2: float) -> float:
    """The estimated run time of the gradient check: 4 loss evaluations per parameter, timed."""
    net64 = net.astype("float64")
    repeats = 3
    started = time.perf_counter()
    for _ in range(repeats):
        net64.loss(X, Y, l2=l2)
    per_loss = (time.perf_counter() - started) / repeats
    return 4 * parameter_count(net.sizes) * per_loss


# ------------------------------------------------------------------ explain
def run_explain(opts: ExplainOptions) -> str:
    """The backprop trace of one step, rendered as text, Markdown or LaTeX."""
    from deltaprop.explain import trace

    model, data = opts.model, opts.data
    if data is not None and model is None:
        raise UserError("--data needs --model: the model's preprocessing turns the rows into inputs.")
    check_outputs([Output(opts.out, "--out")], [model, data])
    check_number(opts.digits, "--digits", low=0, high=17)  # float64 holds 17 significant digits
    check_number(opts.lr, "--lr", low=0, low_inclusive=False)
    check_number(opts.l2, "--l2", low=0)
    check_number(opts.row, "--row", low=0)
    check_number(opts.samples, "--samples", low=1, high=MAX_SAMPLES)
    net, _ = _network(model, opts.sizes, opts.activation, opts.output.value, opts.seed)
    X: Any
    Y: Any
    if data is not None and model is not None:
        prep = load_model(model).require_preprocessor(model)
        frame = read_table(data)
        if not 0 <= opts.row < len(frame):
            raise UserError(f"--row must be in 0..{len(frame) - 1} for '{data}'; got {opts.row}.")
        if prep.target not in frame.columns:
            raise UserError(f"The trace needs the true target: '{data}' lacks the column {prep.target!r}.")
        rows = frame.iloc[opts.row : opts.row + opts.samples]
        with user_input():
            X, Y = prep.transform(rows), prep.encode_target(rows, net.sizes[-1])
    else:
        X, Y = random_problem(net, opts.samples, np.random.default_rng(check_seed(opts.seed)))
    with user_input("--lr, --l2"):
        result = trace(net, X, Y, lr=opts.lr, l2=opts.l2)
    if opts.form == TraceFormat.markdown:
        return result.to_markdown(opts.digits)
    if opts.form == TraceFormat.latex:
        return result.to_latex(opts.digits, document=opts.document)
    return result.to_text(opts.digits)


# --------------------------------------------------------------------- plot
def _needs(value: Any, option: str, kind: str) -> Any:
    if value is None:
        raise UserError(f"plot {kind} needs {option}.")
    return value


def _labelled_rows(
    prep: Preprocessor, data: Path, kind: str
) -> tuple[pd.DataFrame, NDArray[np.float64], NDArray[Any]]:
    """The rows of ``data``, their inputs and their true values (class indices or numbers), checked."""
    frame = read_table(data)
    if prep.target not in frame.columns:
        raise UserError(
            f"plot {kind} needs the true values: '{data}' lacks the target column {prep.target!r}."
        )
    truth: Any  # class indices or numbers
    with user_input():
        X = prep.transform(frame)
        truth = prep.target_values(frame) if prep.classes is None else prep.target_indices(frame)
    return frame, X, truth


def make_figure(
    kind: str, model: Path | None, data: Path | None, activations: str, layer: int
) -> Any:  # a matplotlib Figure
    """The figure that ``deltaprop plot KIND`` draws."""
    from deltaprop import plots
    from deltaprop.report import decision_regions

    if kind == "activations":
        return plots.plot_activations(parse_activation_names(activations, "--activations"))
    model = _needs(model, "--model", kind)
    trained = load_model(model)
    net = trained.network
    if kind in ("loss", "gradient-norms"):
        if not trained.history.loss:
            raise UserError(
                f"The model file '{model}' holds no training history (write it with deltaprop train)."
            )
        if kind == "loss":
            return plots.plot_loss_curves(trained.history)
        return plots.plot_gradient_norms(trained.history)
    if kind == "network":
        return plots.plot_network(net)
    if kind == "neuron-maps":
        if net.sizes[0] != 2:
            raise UserError(f"plot neuron-maps needs a network with 2 inputs; '{model}' has {net.sizes[0]}.")
        D = len(net.sizes) - 1
        if not 1 <= layer <= D:
            raise UserError(f"--layer must be a layer h in 1..{D} of '{model}'; got {layer}.")
        inputs = None
        if data is not None:
            prep = trained.require_preprocessor(model)
            frame = read_table(data)
            with user_input():
                inputs = prep.transform(frame)
        return plots.plot_neuron_maps(net, inputs, layer=layer)
    data = _needs(data, "--data", kind)
    prep = trained.require_preprocessor(model)
    if kind == "predicted-vs-true":
        if prep.classes is not None:
            raise UserError(
                "plot predicted-vs-true is for regression; use confusion-matrix for classification."
            )
        _, X, truth = _labelled_rows(prep, data, kind)
        return plots.plot_predicted_vs_true(truth, prep.decode(net.predict(X)))
    if prep.classes is None:
        raise UserError(f"plot {kind} is for classification; use predicted-vs-true for regression.")
    if kind == "decision-regions" and not (len(prep.columns) == 2 and prep.numeric == prep.columns):
        raise UserError(
            f"plot decision-regions needs a model of two numeric columns; '{model}' uses {prep.columns}."
        )
    frame, X, truth = _labelled_rows(prep, data, kind)
    if kind == "confusion-matrix":
        true = np.asarray(prep.classes)[truth]
        return plots.plot_confusion_matrix(true, prep.decode(net.predict(X)), labels=list(prep.classes))
    return decision_regions(net, prep, frame)


def run_plot(opts: PlotOptions) -> Path:
    """Draw ``opts.kind`` and write it as a PNG file; return its path.

    The output is checked first (pre-flight), the figure's size in pixels before it is
    drawn: a PNG larger than ``MAX_PIXELS`` is refused with its size.
    """
    kind = opts.kind.value
    if kind not in PLOT_KINDS:
        raise UserError(f"Unknown plot {kind!r}; choose from {', '.join(PLOT_KINDS)}.")
    check_number(opts.dpi, "--dpi", low=MIN_DPI, high=MAX_DPI)
    out = Path(f"{kind}.png") if opts.out is None else opts.out
    if out.suffix.lower() != ".png":
        raise UserError(f"--out must name a .png file; got '{out}'.")
    check_outputs([Output(out, "--out")], [opts.model, opts.data])
    from deltaprop.plots import save_figure

    fig = make_figure(kind, opts.model, opts.data, opts.activations, opts.layer)
    width, height = (float(v) * opts.dpi for v in fig.get_size_inches())
    if width * height > MAX_PIXELS:
        raise UserError(
            f"The figure would be {width:.0f} x {height:.0f} pixels ({format_bytes(4 * width * height)} "
            f"uncompressed) at --dpi {opts.dpi}; at most {MAX_PIXELS // 10**6} megapixels are drawn: "
            "lower --dpi."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out, dpi=opts.dpi)


# ----------------------------------------------------------------- datasets
def list_datasets(console: Console) -> None:
    """The table of the data sets that ship (generated or bundled with scikit-learn)."""
    table = Table(title="Data sets (deltaprop datasets NAME --out FILE writes one)")
    for column in ("name", "kind", "n", "d", "description"):
        table.add_column(column, justify="right" if column in ("n", "d") else "left")
    for info in datasets.available():
        table.add_row(info.name, info.kind, str(info.n), str(info.d), escape(info.description))
    console.print(table)


def export_dataset(name: str, out: Path | None, seed: int, console: Console, *, force: bool = False) -> Path:
    """Write data set ``name`` as a table: columns x1..xd and the target y.

    An existing file is never replaced without ``force`` (``--force``): the default name
    NAME.csv may well be the user's own data.
    """
    names = [info.name for info in datasets.available()]
    if name not in names:
        raise UserError(f"Unknown data set {name!r}; choose from {', '.join(names)}.")
    path = Path(f"{name}.csv") if out is None else out
    table_format(path)
    check_outputs([Output(path, "--out", replace=False)], force=force)
    X, y = datasets.load(name, random_state=check_seed(seed))
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(1, X.shape[1] + 1)])
    frame["y"] = y
    path = write_table(frame, path)
    console.print(
        f"Wrote {len(frame)} rows of {name!r} (columns x1..x{X.shape[1]}, target y) to {escape(str(path))}."
    )
    return path
