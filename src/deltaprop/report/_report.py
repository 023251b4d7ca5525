"""Self-contained HTML reports: text, tables and figures in one file that opens anywhere.

A :class:`Report` collects sections of paragraphs, tables, preformatted text and
matplotlib figures and writes them as one HTML file.  Figures are embedded as
base64 PNG data (``<img src="data:image/png;base64,...">``), the style sheet is
inline, and nothing is fetched from the network, so the file can be mailed,
archived or opened offline.  ``deltaprop demo`` and ``deltaprop train --report``
write their results this way; :func:`trace_html` renders a backpropagation trace of
:mod:`deltaprop.explain` as tables.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from deltaprop.modelfile import atomic_write
from deltaprop.report._trace import trace_html

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from deltaprop.network import Network
    from deltaprop.preprocessing import Preprocessor
    from deltaprop.train import History

__all__ = ["Report", "decision_regions", "figure_png", "trace_html", "training_report"]

_NAME = re.compile(r"[a-z0-9][a-z0-9\-]*\Z")

_STYLE = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #d9dee5; --accent: #2458a6; --panel: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
header { border-bottom: 3px solid var(--accent); margin-bottom: 1.5rem; padding-bottom: 0.8rem; }
h1 { font-size: 2rem; margin: 0 0 0.3rem; }
h2 { font-size: 1.4rem; margin: 2.6rem 0 0.6rem; padding-top: 0.4rem; border-top: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; color: var(--muted); }
.subtitle { color: var(--muted); margin: 0; }
nav { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 1rem; }
nav ol { margin: 0.2rem 0; padding-left: 1.4rem; columns: 2; }
a { color: var(--accent); }
p { max-width: 52rem; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
            font-size: 0.86em; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 0.7rem 0.9rem;
      overflow-x: auto; line-height: 1.35; }
.figures { display: flex; flex-wrap: wrap; gap: 1.2rem; align-items: flex-start; }
figure { margin: 0.4rem 0; flex: 1 1 420px; max-width: 540px; }
figure.wide { flex-basis: 100%; max-width: 100%; }
figure img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.3rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.92rem; }
caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: 0.3rem; }
th, td { border-bottom: 1px solid var(--line); padding: 0.3rem 0.8rem; text-align: left;
         vertical-align: top; }
th { background: var(--panel); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.trace td { font-size: 0.85rem; }
table.trace pre { margin: 0; padding: 0.2rem 0.4rem; background: transparent; border: none; }
footer { margin-top: 3rem; color: var(--muted); font-size: 0.85rem; border-top: 1px solid var(--line);
         padding-top: 0.6rem; }
"""


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """The PNG bytes of a matplotlib Figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _cell(value: Any) -> tuple[str, bool]:
    """A table cell's text and whether it is a number (right-aligned)."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return html.escape(str(value)), False
    if isinstance(value, (int, np.integer)):
        return str(value), True
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}", True
    return html.escape(str(value)), False


@dataclass
class _Section:
    title: str
    anchor: str
    blocks: list[str] = field(default_factory=list)


class Report:
    """An HTML report built section by section.

    Parameters
    ----------
    title : str
    subtitle : str, optional
        A line under the title (what, when, with which version).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 2)); _ = fig.add_subplot().plot([0, 1], [1, 0])
    >>> report = Report("Example")
    >>> report.section("A line")
    >>> report.text("Loss falls & rises.")
    >>> report.figure(fig, "line", "A falling line.")
    >>> page = report.render()
    >>> 'id="fig-line"' in page, "data:image/png;base64," in page, "falls &amp; rises" in page
    (True, True, True)
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self._sections: list[_Section] = []
        self._figures: dict[str, bytes] = {}

    @property
    def figure_names(self) -> list[str]:
        """The names of the embedded figures, in order."""
        return list(self._figures)

    def _current(self) -> _Section:
        if not self._sections:
            self.section("Overview")
        return self._sections[-1]

    def section(self, title: str, intro: str = "") -> None:
        """Start a new section (listed in the contents) with an optional first paragraph."""
        self._sections.append(_Section(title, f"section-{len(self._sections) + 1}"))
        if intro:
            self.text(intro)

    def text(self, paragraph: str) -> None:
        """A paragraph of plain text (escaped; ``code`` in backticks is shown as code)."""
        escaped = html.escape(paragraph)
        self._current().blocks.append("<p>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped) + "</p>")

    def heading(self, title: str) -> None:
        """A sub-heading inside the current section."""
        self._current().blocks.append(f"<h3>{html.escape(title)}</h3>")

    def code(self, text: str) -> None:
        """Preformatted text, e.g. a command or a printed table."""
        self._current().blocks.append(f"<pre>{html.escape(text)}</pre>")

    def raw(self, fragment: str) -> None:
        """A fragment of HTML made by trusted code (such as :func:`trace_html`)."""
        self._current().blocks.append(fragment)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> None:
        """A table; floats are shown with 4 significant digits, numbers right-aligned."""
        parts = ["<table>"]
        if caption:
            parts.append(f"<caption>{html.escape(caption)}</caption>")
        parts.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
        for row in rows:
            cells = []
            for value in row:
                text, numeric = _cell(value)
                cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
        self._current().blocks.append("\n".join(parts))

    def figure(self, fig: Figure, name: str, caption: str, *, wide: bool = False, dpi: int = 110) -> None:
        """Embed ``fig`` as a PNG; ``name`` (lowercase, digits, dashes) gives it the id ``fig-<name>``.

        Consecutive figures of a section are laid out side by side; ``wide=True``
        gives a figure the full width.
        """
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"A figure name must be lowercase letters, digits and dashes, such as 'loss-curves'. "
                f"Got {name!r} instead."
            )
        if name in self._figures:
            raise ValueError(f"The report already has a figure named {name!r}.")
        png = figure_png(fig, dpi)
        self._figures[name] = png
        data = base64.b64encode(png).decode("ascii")
        css = ' class="wide"' if wide else ""
        block = (
            f'<figure id="fig-{name}"{css}><img alt="{html.escape(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
        blocks = self._current().blocks
        if blocks and blocks[-1].startswith('<div class="figures">'):
            blocks[-1] = blocks[-1][: -len("</div>")] + block + "</div>"
        else:
            blocks.append(f'<div class="figures">{block}</div>')

    def render(self) -> str:
        """The whole report as one HTML document."""
        contents = "".join(
            f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a></li>' for s in self._sections
        )
        body = [
            f"<header><h1>{html.escape(self.title)}</h1>",
            f'<p class="subtitle">{html.escape(self.subtitle)}</p></header>'
            if self.subtitle
            else "</header>",
            f"<nav><strong>Contents</strong><ol>{contents}</ol></nav>" if len(self._sections) > 1 else "",
        ]
        for s in self._sections:
            body.append(f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>')
            body.extend(s.blocks)
            body.append("</section>")
        body.append("<footer>Written by deltaprop. Every figure is embedded in this file.</footer>")
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
            "<body><main>\n" + "\n".join(body) + "\n</main></body>\n</html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the report atomically to ``path`` (its directory is created); return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        page = self.render().encode("utf-8")

        def write(f: BinaryIO) -> None:
            f.write(page)

        return atomic_write(path, write)

    def save_pngs(self, folder: str | Path) -> list[Path]:
        """Also write every figure as ``<folder>/<name>.png``; return the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, png in self._figures.items():
            path = folder / f"{name}.png"
            path.write_bytes(png)
            paths.append(path)
        return paths


# ------------------------------------------------------------ training report
def _metric_rows(metrics: dict[str, Any], keys: Sequence[str]) -> list[Any]:
    return [metrics[key] for key in keys]


def training_report(
    net: Network,
    prep: Preprocessor,
    history: History,
    training: Mapping[str, Any],
    train_frame: pd.DataFrame,
    val_frame: pd.DataFrame | None,
    source: str | Path,
) -> Report:
    """The report of ``deltaprop train --report``: settings, loss curves, metrics, figures.

    Parameters
    ----------
    net : Network
        The trained network.
    prep : Preprocessor
        The preprocessing fitted on the training rows.
    history : History
        The training history.
    training : mapping
        The training options, as ``deltaprop train`` stores them in the model file
        ("solver", "lr", "schedule", "batch_size_used", "l2_used"); one missing is shown as "?".
    train_frame, val_frame : DataFrame
        The training rows and the validation rows (or None).
    source : Path
        The data file, named in the report.
    """
    from deltaprop import plots
    from deltaprop.metrics import classification_metrics, regression_metrics

    source = Path(source)
    report = Report(f"Training report: {source.name}", f"target {prep.target!r}, task {prep.task}")
    report.section("Settings")
    settings = [
        ("data", str(source)),
        (
            "rows (training / validation)",
            f"{len(train_frame)} / {0 if val_frame is None else len(val_frame)}",
        ),
        ("preprocessing", prep.summary()),
        ("network sizes", str(net.sizes)),
        ("hidden activations", ", ".join(act.name for act in net.activations) or "none"),
        ("output", net.output.name),
        ("solver", training.get("solver", "?")),
        ("learning rate", f"{training.get('lr', '?')} ({training.get('schedule', '?')})"),
        ("batch size", training.get("batch_size_used", "?")),
        ("lambda (L2)", training.get("l2_used", 0.0)),
        ("epochs run", f"{history.epochs} (stopped: {history.stop_reason})"),
        ("best epoch", history.best_epoch),
    ]
    report.table(["setting", "value"], [(key, str(value)) for key, value in settings])

    if history.epochs:
        report.section("Training curves")
        report.figure(
            plots.plot_loss_curves(history), "loss-curves", "Loss per epoch (training and validation)."
        )
        if history.grad_norms:
            report.figure(
                plots.plot_gradient_norms(history),
                "gradient-norms",
                "Mean gradient norm per layer and epoch: vanishing or exploding gradients show here.",
            )

    report.section("Results")
    shown = val_frame if val_frame is not None else train_frame
    which = "validation" if val_frame is not None else "training"
    parts = [("training", train_frame)] + ([("validation", val_frame)] if val_frame is not None else [])
    outputs = {name: net.predict(prep.transform(frame)) for name, frame in parts}
    if prep.classes is None:
        keys = ["mse", "rmse", "mae", "r2"]
        rows = []
        for name, frame in parts:
            metrics = regression_metrics(prep.target_values(frame), prep.decode(outputs[name]))
            rows.append([name, *_metric_rows(metrics, keys)])
        report.table(["rows", "MSE", "RMSE", "MAE", "R^2"], rows)
        report.figure(
            plots.plot_predicted_vs_true(prep.target_values(shown), prep.decode(outputs[which])),
            "predicted-vs-true",
            f"Predicted against true {prep.target!r} on the {which} rows.",
        )
    else:
        keys = ["accuracy", "log_loss", "macro_precision", "macro_recall", "macro_f1"]
        rows = []
        for name, frame in parts:
            metrics = classification_metrics(
                prep.target_indices(frame), prep.probabilities(outputs[name]), prep.classes
            )
            rows.append([name, *_metric_rows(metrics, keys)])
        report.table(["rows", "accuracy", "log loss", "precision", "recall", "F1 (macro)"], rows)
        labels = np.asarray(prep.classes)
        true = labels[prep.target_indices(shown)]
        report.figure(
            plots.plot_confusion_matrix(true, prep.decode(outputs[which]), labels=list(prep.classes)),
            "confusion-matrix",
            f"Confusion matrix on the {which} rows.",
        )
        if len(prep.columns) == 2 and prep.numeric == prep.columns:
            report.figure(
                decision_regions(net, prep, train_frame),
                "decision-regions",
                "Decision regions over the two input columns, with the training rows.",
            )
    report.section("The network")
    report.figure(
        plots.plot_network(net), "network", "Units and weights W^(h): red negative, blue positive.", wide=True
    )
    return report


def decision_regions(net: Network, prep: Preprocessor, frame: pd.DataFrame) -> Figure:
    """Decision regions of a classifier trained on two numeric columns, in those columns' own units."""
    import pandas as pd

    from deltaprop import plots

    a, b = prep.columns

    def predict(points: np.ndarray) -> np.ndarray:
        return net.predict(prep.transform(pd.DataFrame({a: points[:, 0], b: points[:, 1]})))

    points = frame[[a, b]].to_numpy(dtype=np.float64)
    fig = plots.plot_decision_regions(predict, points, prep.target_indices(frame))
    ax = fig.axes[0]
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    legend = ax.get_legend()
    classes = prep.classes or []
    if legend is not None:  # "class k" (an index) -> the class's own label
        for text in legend.get_texts():
            k = text.get_text().removeprefix("class ")
            if k.isdigit() and int(k) < len(classes):
                text.set_text(str(classes[int(k)]))
    return fig
