"""``deltaprop lab ...``, ``deltaprop exercise backprop`` and ``deltaprop grade``.

    deltaprop lab sharpness            the top Hessian eigenvalues, and 2/lambda_max
    deltaprop lab edge-of-stability    batch GD per eta, sharpness against 2/eta (figure)
    deltaprop lab range-test           Smith's learning-rate range test (figure)
    deltaprop lab landscape KIND       loss slices, surface, interpolation or GD path (figure)
    deltaprop exercise backprop        a backpropagation problem and its solution (Markdown, notebooks)
    deltaprop grade DIR ANSWER         check an answer (.json, .npz or a .py with backward)

The lab's commands train on a data set that ships (``deltaprop datasets``), its inputs
standardised, with a network given by --hidden, --activation and --output; each prints
its numbers and writes its figure with --out.  :func:`register` adds the commands to
the application in a few lines of ``cli/_app.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from deltaprop.cli._errors import UserError, one_line_errors, user_input

if TYPE_CHECKING:
    from deltaprop._types import Array
    from deltaprop.network import Network

lab_app = typer.Typer(
    help="Measure what batch gradient descent does: sharpness, edge of stability, range test, landscapes.",
    no_args_is_help=True,
)
exercise_app = typer.Typer(help="Write exercises with their solutions.", no_args_is_help=True)

# Each option once, shared by the lab's commands.
DataOption = Annotated[str, typer.Option("--data", help="A data set that ships (deltaprop datasets).")]
SamplesOption = Annotated[int, typer.Option("--samples", help="Use the first N rows (0: all).")]
HiddenOption = Annotated[str, typer.Option("--hidden", help="Hidden widths, e.g. 16,16 (empty: none).")]
ActivationOption = Annotated[str, typer.Option("--activation", help="The hidden layers' activation.")]
OutputOption = Annotated[
    str,
    typer.Option(
        "--output", help="softmax, sigmoid or identity (squared error on one-hot classes); default by task."
    ),
]
InputsOption = Annotated[
    str,
    typer.Option(
        "--inputs",
        help="standardise (each column to mean 0, sd 1) or centre (mean 0, divided by the largest |x|: "
        "pixels / 16 for digits).",
    ),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Seeds the weights, data, directions.")]
LrOption = Annotated[float, typer.Option("--lr", help="The learning rate eta of the gradient-descent steps.")]
StepsOption = Annotated[int, typer.Option("--steps", help="Steps of full-batch gradient descent.")]
FigureOption = Annotated[Path | None, typer.Option("--out", "-o", help="Write the figure to this PNG file.")]


class Setup:
    """The data and the network of a lab command, from its options."""

    def __init__(
        self,
        data: str,
        samples: int,
        hidden: str,
        activation: str,
        output: str | None,
        seed: int,
        inputs: str = "standardise",
    ) -> None:
        import numpy as np

        from deltaprop import datasets
        from deltaprop.cli._parse import check_seed, parse_sizes
        from deltaprop.network import Network

        check_seed(seed)
        names = [info.name for info in datasets.available()]
        if data not in names:
            raise UserError(f"--data: unknown data set {data!r}; choose from {', '.join(names)}.")
        kind = next(info.kind for info in datasets.available() if info.name == data)
        X, y = datasets.load(data, random_state=seed)
        if samples < 0:
            raise UserError(f"--samples must be >= 0; got {samples}.")
        if samples:
            X, y = X[:samples], y[:samples]
        if inputs == "standardise":
            spread = X.std(axis=0)
            X = (X - X.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
        elif inputs == "centre":
            X = (X - X.mean(axis=0)) / (np.abs(X).max() or 1.0)
        else:
            raise UserError(f"--inputs must be standardise or centre; got {inputs!r}.")
        self.inputs = inputs
        if kind == "classification":
            classes = int(y.max()) + 1
            Y = np.eye(classes)[y.astype(int)]
            output = output or "softmax"
        else:
            Y = ((y - y.mean()) / (y.std() or 1.0)).reshape(-1, 1)
            output = output or "identity"
            if output != "identity":
                raise UserError(f"--output: {data!r} is a regression data set; use --output identity.")
        self.X: Array = X
        self.Y: Array = Y
        self.data = data
        sizes = [X.shape[1], *parse_sizes(hidden, "--hidden", allow_empty=True), Y.shape[1]]
        with user_input("--activation, --output"):
            self.net: Network = Network(sizes, activation=activation, output=output, random_state=seed)
        self.seed = seed

    def trained(self, lr: float, steps: int, seed: int | None = None) -> Network:
        """The network (drawn with ``seed`` if given) after ``steps`` of batch GD; UserError on divergence."""
        from deltaprop.network import Network
        from deltaprop.train import DivergenceError, gradient_descent

        if seed is None:
            net = self.net.copy()
        else:
            net = Network(self.net.sizes, self.net.activations, self.net.output, random_state=seed)
        if steps:
            with user_input("--lr, --steps"):
                try:
                    gradient_descent(net, self.X, self.Y, lr=lr, steps=steps)
                except DivergenceError as error:
                    raise UserError(f"--lr {lr}: {error}") from None
        return net

    def describe(self) -> str:
        done = "standardised" if self.inputs == "standardise" else "centred"
        return f"{self.data} (n = {self.X.shape[0]}, inputs {done}): {self.net!r}"


def _floats(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(
            f"{option} must be numbers separated by commas, e.g. 0.1,0.05; got {text!r}."
        ) from None
    if not values or any(not 0 < v < float("inf") for v in values):
        raise UserError(f"{option} must list positive numbers; got {text!r}.")
    return values


def _preflight(out: Path | None, **numbers: tuple[float, float | None, float | None]) -> None:
    """Before any work: the figure's location (cli/_preflight) and each numeric option's range.

    ``numbers`` maps an option's name (``lr`` for --lr) to (value, low, high), both ends
    inclusive; NaN and infinities are refused first.
    """
    from deltaprop.cli._parse import check_number
    from deltaprop.cli._preflight import Output, check_outputs

    for name, (value, low, high) in numbers.items():
        check_number(value, "--" + name.replace("_", "-"), low=low, high=high)
    if out is not None and out.suffix.lower() != ".png":
        raise UserError(f"--out must name a .png file; got '{out}'.")
    check_outputs([Output(out, "--out")])


def _write(fig: Any, out: Path | None, console: Console) -> None:
    if out is None:
        return
    from deltaprop.plots import save_figure

    out.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"Wrote {escape(str(save_figure(fig, out)))}.")


# ------------------------------------------------------------------ lab commands
@lab_app.command("sharpness")
@one_line_errors
def sharpness_command(
    data: DataOption = "moons",
    samples: SamplesOption = 0,
    hidden: HiddenOption = "16,16",
    activation: ActivationOption = "tanh",
    output: OutputOption = "",
    inputs: InputsOption = "standardise",
    seed: SeedOption = 0,
    lr: LrOption = 0.1,
    steps: StepsOption = 0,
    k: Annotated[int, typer.Option("--k", help="How many top eigenvalues.")] = 3,
) -> None:
    """The top Hessian eigenvalues of the full-batch loss (after --steps of GD), and 2/lambda_max."""
    from deltaprop.lab import sharpness

    _preflight(None, lr=(lr, 0, None), steps=(steps, 0, None), k=(k, 1, None))
    console = Console()
    setup = Setup(data, samples, hidden, activation, output or None, seed, inputs)
    net = setup.trained(lr, steps)
    with user_input("--k"):
        values = sharpness(net, setup.X, setup.Y, k=k, random_state=seed)
    console.print(escape(setup.describe()))
    console.print(f"after {steps} steps of GD at eta = {lr:g}: loss {net.loss(setup.X, setup.Y):.6g}")
    console.print("top eigenvalues: " + ", ".join(f"{v:.6g}" for v in values))
    console.print(
        f"sharpness {values[0]:.6g}: a quadratic with this curvature is stable for eta < 2/lambda_max = "
        f"{2 / values[0]:.6g}"
    )


@lab_app.command("edge-of-stability")
@one_line_errors
def edge_of_stability_command(
    data: DataOption = "moons",
    samples: SamplesOption = 0,
    hidden: HiddenOption = "16,16",
    activation: ActivationOption = "tanh",
    output: OutputOption = "identity",
    inputs: InputsOption = "standardise",
    seed: SeedOption = 0,
    lrs: Annotated[str, typer.Option("--lrs", help="Learning rates, e.g. 0.5,0.1.")] = "0.5,0.1",
    steps: StepsOption = 500,
    every: Annotated[int, typer.Option("--every", help="Measure the sharpness every k steps.")] = 10,
    out: FigureOption = None,
) -> None:
    """Batch GD for each eta; the sharpness every k steps against 2/eta (Cohen et al., ICLR 2021)."""
    from deltaprop.lab import edge_of_stability
    from deltaprop.plots import plot_edge_of_stability

    _preflight(out, steps=(steps, 1, None), every=(every, 1, None))
    console = Console()
    setup = Setup(data, samples, hidden, activation, output or None, seed, inputs)
    with user_input("--lrs, --steps, --every"):
        result = edge_of_stability(
            setup.net,
            setup.X,
            setup.Y,
            lrs=_floats(lrs, "--lrs"),
            steps=steps,
            every=every,
            random_state=seed,
            tol=1e-4,
        )
    console.print(escape(setup.describe()))
    console.print(escape(str(result)), soft_wrap=True)
    _write(plot_edge_of_stability(result), out, console)


@lab_app.command("range-test")
@one_line_errors
def range_test_command(
    data: DataOption = "moons",
    samples: SamplesOption = 0,
    hidden: HiddenOption = "16,16",
    activation: ActivationOption = "tanh",
    output: OutputOption = "",
    inputs: InputsOption = "standardise",
    seed: SeedOption = 0,
    lr_min: Annotated[float, typer.Option("--lr-min", help="The first learning rate.")] = 1e-4,
    lr_max: Annotated[float, typer.Option("--lr-max", help="The last learning rate.")] = 10.0,
    epochs: Annotated[int, typer.Option("--epochs", help="Passes over the data.")] = 5,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Rows per update.")] = 32,
    mode: Annotated[str, typer.Option("--mode", help="exponential or linear.")] = "exponential",
    out: FigureOption = None,
) -> None:
    """Smith's learning-rate range test: eta grows while training; a suggested range (WACV 2017)."""
    from deltaprop.lab import lr_range_test
    from deltaprop.plots import plot_lr_range_test

    _preflight(
        out,
        lr_min=(lr_min, 0, None),
        lr_max=(lr_max, 0, None),
        epochs=(epochs, 1, None),
        batch_size=(batch_size, 1, None),
    )
    console = Console()
    setup = Setup(data, samples, hidden, activation, output or None, seed, inputs)
    with user_input("--lr-min, --lr-max, --epochs, --batch-size, --mode"):
        result = lr_range_test(
            setup.net,
            setup.X,
            setup.Y,
            lr_min=lr_min,
            lr_max=lr_max,
            epochs=epochs,
            batch_size=batch_size,
            mode=mode,
            random_state=seed,
        )
    console.print(escape(setup.describe()))
    console.print(escape(str(result)))
    _write(plot_lr_range_test(result), out, console)


LANDSCAPES = ("slices", "surface", "interpolation", "trajectory")


@lab_app.command("landscape")
@one_line_errors
def landscape_command(
    kind: Annotated[str, typer.Argument(help="slices, surface, interpolation or trajectory.")] = "slices",
    data: DataOption = "moons",
    samples: SamplesOption = 0,
    hidden: HiddenOption = "16,16",
    activation: ActivationOption = "tanh",
    output: OutputOption = "",
    inputs: InputsOption = "standardise",
    seed: SeedOption = 0,
    lr: LrOption = 0.5,
    steps: StepsOption = 1000,
    points: Annotated[int, typer.Option("--points", help="Grid points per axis.")] = 25,
    biases: Annotated[bool, typer.Option("--biases", help="Move the biases too.")] = False,
    out: FigureOption = None,
) -> None:
    """The loss around the network trained by --steps of GD, on filter-normalised directions (Li et al.)."""
    import numpy as np

    from deltaprop import lab, plots

    if kind not in LANDSCAPES:
        raise UserError(f"Unknown landscape {kind!r}; choose from {', '.join(LANDSCAPES)}.")
    _preflight(out, lr=(lr, 0, None), steps=(steps, 0, None), points=(points, 2, 200))
    console = Console()
    setup = Setup(data, samples, hidden, activation, output or None, seed, inputs)
    X, Y = setup.X, setup.Y
    grid = np.linspace(-1.0, 1.0, points)
    console.print(escape(setup.describe()))
    if kind == "trajectory":
        with user_input("--lr, --steps"):
            thetas, net = lab.gd_trajectory(setup.net, X, Y, lr=lr, steps=steps, every=max(1, steps // 100))
        path = lab.project_trajectory(net, thetas, X, Y, grid=points)
        console.print(
            f"loss {path.losses[0]:.6g} -> {path.losses[-1]:.6g}; the first two principal directions hold "
            f"{100 * path.explained[0]:.1f} % and {100 * path.explained[1]:.1f} % of the path"
        )
        fig = plots.plot_trajectory(path)
    else:
        net = setup.trained(lr, steps)
        centre = net.loss(X, Y)
        console.print(f"after {steps} steps of GD at eta = {lr:g}: loss {centre:.6g}")
        if kind == "slices":
            lines = [
                lab.loss_slice(net, X, Y, alphas=grid, biases=biases, random_state=seed + i) for i in range(3)
            ]
            for i, line in enumerate(lines, start=1):
                console.print(
                    f"direction {i}: loss {line.losses[0]:.4g} at alpha = -1, {line.losses[-1]:.4g} at +1"
                )
            fig = plots.plot_loss_slices(lines, labels=[f"direction {i}" for i in (1, 2, 3)], logy=True)
        elif kind == "surface":
            surface = lab.loss_surface(net, X, Y, alphas=grid, betas=grid, biases=biases, random_state=seed)
            console.print(
                f"loss on the plane: from {np.min(surface.losses):.4g} to {np.max(surface.losses):.4g}"
            )
            fig = plots.plot_loss_surface(surface)
        else:
            other = setup.trained(lr, steps, seed=seed + 1)
            line = lab.interpolate(net, other, X, Y, alphas=np.linspace(-0.5, 1.5, 2 * points - 1))
            middle = line.losses[np.argmin(np.abs(line.alphas - 0.5))]
            console.print(
                f"seeds {seed} and {seed + 1}: loss {line.losses[np.argmin(np.abs(line.alphas))]:.4g} and "
                f"{line.losses[np.argmin(np.abs(line.alphas - 1))]:.4g}, halfway {middle:.4g}"
            )
            fig = plots.plot_loss_slices(line, labels=[f"seed {seed} -> seed {seed + 1}"], logy=True)
    _write(fig, out, console)


# ------------------------------------------------------------------ exercises, grading
@exercise_app.command("backprop")
@one_line_errors
def exercise_backprop(
    depth: Annotated[int, typer.Option("--depth", help="D, the number of weight layers (1-4).")] = 2,
    activation: Annotated[
        str, typer.Option("--activation", help="identity, sigmoid, tanh or relu.")
    ] = "tanh",
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same problem.")] = 0,
    batch: Annotated[int, typer.Option("--batch", help="n, the samples (1-8).")] = 1,
    output: Annotated[str, typer.Option("--output", help="softmax, sigmoid or identity.")] = "softmax",
    width: Annotated[int, typer.Option("--width", help="Units per layer, M_0 = ... = M_D (2-5).")] = 3,
    out: Annotated[Path, typer.Option("--out", "-o", help="The folder to write.")] = Path("exercise"),
) -> None:
    """Write a backpropagation problem and its solution, as Markdown and Jupyter notebooks."""
    from deltaprop.cli._preflight import Output, check_outputs
    from deltaprop.exercises import make_problem, write_exercise

    check_outputs([Output(out, "--out", "folder")])
    with user_input("--depth, --activation, --seed, --batch, --output, --width"):
        problem = make_problem(depth, activation, seed, batch, output, width)
    paths = write_exercise(problem, out)
    Console().print(f"Wrote {', '.join(escape(p.name) for p in paths)} to {escape(str(out))}.")


def grade_command(
    folder: Annotated[
        Path, typer.Argument(help="The exercise's folder (its problem.json).", show_default=False)
    ],
    answer: Annotated[
        Path,
        typer.Argument(
            help="answer.json or .npz of numbers, or a .py defining backward.", show_default=False
        ),
    ],
) -> None:
    """Check an answer to 'deltaprop exercise backprop' and name the common mistakes; exit 1 unless right."""
    import json

    from deltaprop.exercises import Problem, grade, grade_backward, load_backward, read_answer

    problem_file = folder / "problem.json" if folder.is_dir() else folder
    if not problem_file.is_file():
        raise UserError(
            f"No problem file at '{problem_file}': give the folder written by 'deltaprop exercise'."
        )
    if not answer.is_file():
        raise UserError(f"No answer file at '{answer}'.")
    with user_input():
        problem = Problem.from_dict(json.loads(problem_file.read_text(encoding="utf-8")))
        if answer.suffix == ".py":
            report = grade_backward(problem, load_backward(answer))
        else:
            report = grade(problem, read_answer(answer))
    Console().print(escape(str(report)))
    if not report.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``lab``, ``exercise`` and ``grade`` to the ``deltaprop`` application."""
    app.add_typer(lab_app, name="lab")
    app.add_typer(exercise_app, name="exercise")
    app.command("grade")(one_line_errors(grade_command))
