"""A backpropagation trace as HTML: :func:`trace_html` renders a :class:`~deltaprop.explain.Trace`.

One table per stage of :mod:`deltaprop.explain` (parameters, forward pass, loss, backward
pass, gradients, gradient-descent step), a row per quantity with its name, the lecture's
equation, its shape and its value, a vector (a bias) written as the slides' column.
:meth:`deltaprop.report.Report.raw` puts the fragment into a report.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from deltaprop.explain import Trace


def _as_column_matrix(value: np.ndarray) -> np.ndarray:
    """A scalar as 1x1, a vector (a bias) as the slides' column, a matrix as it is."""
    if value.ndim == 0:
        return value.reshape(1, 1)
    return value[:, None] if value.ndim == 1 else value


def _matrix_text(matrix: np.ndarray, digits: int) -> str:
    cells = [[f"{x:.{digits}f}" for x in row] for row in matrix]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))]
    lines = ("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells)
    return "\n".join(f"[ {line} ]" for line in lines)


def trace_html(trace: Trace, digits: int = 4) -> str:
    """A backpropagation trace as HTML: one table per stage with quantity, equation, shape and value."""
    samples = "1 sample" if trace.n_samples == 1 else f"a batch of n = {trace.n_samples} samples"
    header = f"{trace.network}, {samples}, learning rate η = {trace.lr:g}, λ = {trace.l2:g}."
    parts = [f"<p>{html.escape(header)}</p>"]
    stage = None
    for q in trace:
        if q.stage != stage:
            if stage is not None:
                parts.append("</table>")
            stage = q.stage
            parts.append(
                f'<table class="trace"><caption>{html.escape(stage.capitalize())}</caption>'
                "<tr><th>quantity</th><th>equation (lecture)</th><th>shape</th><th>value</th></tr>"
            )
        matrix = _as_column_matrix(np.asarray(q.value, dtype=np.float64))
        parts.append(
            f"<tr><td><code>{html.escape(q.name)}</code></td><td><code>{html.escape(q.equation)}</code></td>"
            f"<td>{matrix.shape[0]}x{matrix.shape[1]}</td>"
            f"<td><pre>{html.escape(_matrix_text(matrix, digits))}</pre></td></tr>"
        )
    if stage is not None:
        parts.append("</table>")
    return "\n".join(parts)
