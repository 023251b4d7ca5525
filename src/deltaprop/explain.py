"""A backpropagation trace: every quantity of one gradient step, named as on the slides.

:func:`trace` runs :meth:`Network.forward` and :meth:`Network.backward` on a small
batch (typically one sample) and records, in order, each quantity with its shape,
its value and the lecture's equation that produced it:

    parameters  W^(h), b^(h)                               h = 1..D
    forward     z^(0) = x;  a^(h) = W^(h) z^(h-1) + b^(h),  z^(h) = sigma(a^(h));  f(X) = z^(D)
    loss        L = L_S + lambda/2 ||w||^2
    backward    Y;  delta^(D) = f(X) - Y;
                sigma'(a^(h)),  delta^(h) = sigma'(a^(h)) o (W^(h+1))^T delta^(h+1)    h = D-1..1
    gradients   dL/dW^(h) = mean_i delta^(h)_i (z^(h-1)_i)^T + lambda W^(h),  dL/db^(h) = mean_i delta^(h)_i
    step        W^(h) - eta dL/dW^(h),  b^(h) - eta dL/db^(h)

The numbers are the network's own, not a re-derivation: a^(h), z^(h) and f(X) are
``cache.a`` and ``cache.z`` of :meth:`Network.forward`; the gradients are
:meth:`Network.backward`'s; sigma'(a^(h)) is the activation record's ``df``, the
call backward makes.  The error signals delta^(h)_i, which backward keeps to itself,
are read off backward too: weighting only sample i (``sample_weight`` = e_i) makes
backward's bias gradient exactly delta^(h)_i, by the lecture's dl/db^(h) = delta^(h).

The lecture writes a sample as a column vector, the code keeps samples in rows.  The
trace shows per-sample quantities (z, a, f(X), Y, delta, sigma') the lecture's way,
transposed: shape (M_h, n), column i is sample i, and for one sample a column vector.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from deltaprop._checks import check_scalar
from deltaprop._types import Array
from deltaprop.network import Network

# sigma'(a) of the named activations, in text and LaTeX; "@" stands for a^(h).
_DERIVATIVES: dict[str, tuple[str, str]] = {
    "sigmoid": ("sigma(@) (1 - sigma(@))", r"\sigma(@)\,(1 - \sigma(@))"),
    "tanh": ("1 - tanh^2(@)", r"1 - \tanh^2(@)"),
    "relu": ("1 where @ > 0, else 0", r"\mathbf{1}[@ > 0]"),
    "leaky_relu": ("1 where @ > 0, else 0.01", r"\mathbf{1}[@ > 0] + 0.01\,\mathbf{1}[@ \le 0]"),
    "identity": ("1", "1"),
    "softplus": ("1 / (1 + e^(-@))", r"1 / (1 + e^{-@})"),
}
_TARGETS = {"softmax": "one-hot labels", "identity": "real targets", "sigmoid": "0/1 labels per output"}
_COLUMNS_NOTE = (
    "Per-sample vectors are shown as the lecture's column vectors: the code keeps samples in rows, "
    "so these are its arrays transposed (column i is sample i)."
)
STAGES = ("parameters", "forward pass", "loss", "backward pass", "gradients", "gradient-descent step")


class Quantity(NamedTuple):
    """One named quantity of the trace.

    Attributes
    ----------
    name : str
        Plain-text name as on the slides, e.g. ``"delta^(1)"``; the key of ``Trace[name]``.
    latex : str
        The LaTeX name, e.g. ``r"\\delta^{(1)}"``.
    equation, equation_latex : str
        The lecture's equation that produced it, for this layer h.
    value : ndarray
        Per-sample quantities in the lecture's layout (M_h, n); W^(h) (M_h, M_{h-1});
        b^(h) and dL/db^(h) (M_h,); the loss a 0-d array.
    code : str
        Where deltaprop holds it, e.g. ``"cache.a[0].T"``.
    stage : str
        One of :data:`STAGES`.
    """

    name: str
    latex: str
    equation: str
    equation_latex: str
    value: NDArray[Any]
    code: str
    stage: str

    @property
    def shape(self) -> tuple[int, ...]:
        """The value's shape."""
        return tuple(self.value.shape)


def _number(x: Any, digits: int) -> str:
    """``x`` rounded to ``digits`` decimals, without trailing zeros (and never "-0")."""
    return np.format_float_positional(round(float(x), digits) + 0.0, precision=digits, unique=True, trim="-")


def _as_matrix(value: NDArray[Any]) -> NDArray[Any]:
    """Scalars as 1x1, vectors as columns, matrices as they are: what the slides draw."""
    return value.reshape(-1, 1) if value.ndim <= 1 else value


def _shape_text(value: NDArray[Any]) -> str:
    rows, cols = _as_matrix(value).shape
    return f"{rows}x{cols}"


@dataclass(frozen=True, eq=False)
class Trace:
    """The quantities of one backpropagation step, in order; see :func:`trace`.

    ``trace["delta^(1)"]`` is a value by name, ``trace.names()`` every name, and
    :meth:`to_text`, :meth:`to_markdown`, :meth:`to_latex` render it all.
    """

    quantities: tuple[Quantity, ...]
    n_samples: int
    lr: float
    l2: float
    network: str

    def __repr__(self) -> str:
        return f"Trace({len(self.quantities)} quantities; {self._header()})"

    def __iter__(self) -> Iterator[Quantity]:
        return iter(self.quantities)

    def __len__(self) -> int:
        return len(self.quantities)

    def names(self) -> list[str]:
        """Every quantity's name, in the order of the computation."""
        return [q.name for q in self.quantities]

    def quantity(self, name: str) -> Quantity:
        """The :class:`Quantity` called ``name``."""
        for q in self.quantities:
            if q.name == name:
                return q
        raise KeyError(f"The trace has no quantity {name!r}; it has {self.names()}.")

    def __getitem__(self, name: str) -> NDArray[Any]:
        return self.quantity(name).value

    def _header(self) -> str:
        samples = "1 sample" if self.n_samples == 1 else f"a batch of n = {self.n_samples} samples"
        return f"{self.network}, {samples}, learning rate eta = {self.lr:g}, lambda = {self.l2:g}"

    def _stages(self) -> Iterator[tuple[str, list[Quantity]]]:
        for stage in STAGES:
            members = [q for q in self.quantities if q.stage == stage]
            if members:
                yield stage, members

    def to_text(self, digits: int = 4) -> str:
        """Plain text: per quantity its name, shape, equation, code and rounded value."""
        check_scalar(digits, "digits", low=0, integer=True)
        lines = ["Backpropagation trace", self._header(), _COLUMNS_NOTE]
        for stage, members in self._stages():
            lines += ["", f"== {stage} =="]
            for q in members:
                lines.append(f"{q.name}  [{_shape_text(q.value)}]  {q.equation}    (code: {q.code})")
                cells = [[_number(x, digits) for x in row] for row in _as_matrix(q.value)]
                widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))]
                for row in cells:
                    padded = (c.rjust(w) for c, w in zip(row, widths, strict=True))
                    lines.append("    [ " + "  ".join(padded) + " ]")
        return "\n".join(lines) + "\n"

    def to_markdown(self, digits: int = 4) -> str:
        """Markdown: one table per stage with name, equation, shape, value and code."""
        check_scalar(digits, "digits", low=0, integer=True)
        lines = ["# Backpropagation trace", "", self._header() + ".", "", f"> {_COLUMNS_NOTE}"]
        for stage, members in self._stages():
            lines += ["", f"## {stage.capitalize()}", ""]
            lines += ["| quantity | equation | shape | value | code |", "|---|---|---|---|---|"]
            for q in members:
                rows = [", ".join(_number(x, digits) for x in row) for row in _as_matrix(q.value)]
                value = "[" + "; ".join(rows) + "]"
                cells = [f"`{q.name}`", f"`{q.equation}`", _shape_text(q.value), f"`{value}`", f"`{q.code}`"]
                # A pipe, even inside a code span, would end the table cell.
                lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        return "\n".join(lines) + "\n"

    def to_latex(self, digits: int = 4, document: bool = False) -> str:
        """LaTeX (amsmath): one ``align*`` per stage, values as rounded ``bmatrix``.

        With ``document=True`` a complete file that ``pdflatex`` compiles.
        """
        check_scalar(digits, "digits", low=0, integer=True)
        samples = "one sample" if self.n_samples == 1 else f"$n = {self.n_samples}$ samples"
        body = [
            "% Backpropagation trace, generated by deltaprop.explain",
            rf"\noindent {_latex_escape(self.network)}, {samples}, "
            rf"$\eta = {self.lr:g}$, $\lambda = {self.l2:g}$. "
            "Per-sample vectors are the lecture's column vectors (the code's rows transposed; "
            "column $i$ is sample $i$).",
        ]
        for stage, members in self._stages():
            body += ["", rf"\subsection*{{{stage.capitalize()}}}", r"\begin{align*}"]
            rows = []
            for q in members:
                rows.append(rf"{q.equation_latex} &= {_bmatrix(q.value, digits)}")
            body.append(" \\\\\n".join(rows))
            body.append(r"\end{align*}")
        text = "\n".join(body) + "\n"
        if document:
            preamble = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
            text = preamble + text + "\\end{document}\n"
        return text

    def __str__(self) -> str:
        return self.to_text()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _latex_escape(text: str) -> str:
    """Plain text made safe for LaTeX's text mode."""
    special = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return re.sub(r"[\\_{}%&#$~^]", lambda m: special.get(m.group(), "\\" + m.group()), text)


def _bmatrix(value: NDArray[Any], digits: int) -> str:
    if value.ndim == 0:
        return _number(value, digits)
    rows = [" & ".join(_number(x, digits) for x in row) for row in _as_matrix(value)]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _as_rows(values: Any) -> Any:
    """A single sample given as a 1-D vector becomes one row."""
    arr = np.asarray(values)
    return arr.reshape(1, -1) if arr.ndim == 1 else values


def _per_sample_deltas(net: Network, cache: Any, Y: Array) -> list[Array]:
    """delta^(h)_i for h = 1..D, rows = samples, read off Network.backward.

    With all the weight on sample i, backward's scaled delta^(D) is f(X_i) - Y_i
    times 1 and 0 for the others, so its bias gradient sum_j delta^(h)_j is exactly
    delta^(h)_i, by the lecture's dl/db^(h) = delta^(h).
    """
    n = Y.shape[0]
    deltas = [np.empty((n, M), dtype=net.dtype) for M in net.sizes[1:]]
    for i in range(n):
        only_i = np.zeros(n)
        only_i[i] = 1.0
        grads = net.backward(cache, Y, l2=0.0, sample_weight=only_i)
        for h in range(1, net.D + 1):
            deltas[h - 1][i] = grads.b[h - 1]
    return deltas


def trace(net: Network, X: Any, Y: Any, lr: float = 0.1, l2: float = 0.0) -> Trace:
    """Trace one gradient-descent step of ``net`` on (X, Y) in the lecture's notation.

    Parameters
    ----------
    net : Network
        A small network; it is not changed.
    X : array of shape (n, M_0), or (M_0,) for one sample
        Best one sample, or a handful.
    Y : array of shape (n, K), or (K,) for one sample
        One-hot labels (softmax), real targets (identity) or 0/1 labels (sigmoid).
    lr : float, default 0.1
        The learning rate eta of the step shown at the end.
    l2 : float, default 0
        The lecture's lambda: dL/dW^(h) includes lambda W^(h).

    Returns
    -------
    Trace
        Quantities by name: ``"W^(h)"``, ``"b^(h)"``, ``"z^(0)"``, ``"a^(h)"``,
        ``"z^(h)"`` (h < D), ``"f(X)"``, ``"L"``, ``"Y"``, ``"delta^(h)"``,
        ``"sigma'(a^(h))"`` (h < D), ``"dL/dW^(h)"``, ``"dL/db^(h)"``,
        ``"W^(h)(t+1)"``, ``"b^(h)(t+1)"``.  Per-sample values are transposed to the
        lecture's columns, shape (M_h, n).

    Examples
    --------
    >>> net = Network.from_weights(
    ...     W=[[[1.0, -1.0], [0.5, 2.0]], [[1.0, 0.0], [-1.0, 1.0]]],
    ...     b=[[0.0, 0.0], [0.0, 0.0]], activation="relu", output="identity")
    >>> t = trace(net, X=[1.0, 2.0], Y=[1.0, 0.0], lr=0.1)
    >>> t["a^(1)"]  # a^(1) = W^(1) x + b^(1), a column
    array([[-1. ],
           [ 4.5]])
    >>> t["delta^(2)"].ravel().tolist()  # f(X) - Y with f(X) = (0, 4.5)
    [-1.0, 4.5]
    >>> t.quantity("delta^(1)").equation
    "delta^(1) = sigma'(a^(1)) o (W^(2))^T delta^(2)"
    >>> t["delta^(1)"].ravel().tolist()  # relu'(a^(1)) = (0, 1) times (W^(2))^T delta^(2) = (-5.5, 4.5)
    [0.0, 4.5]
    """
    if not isinstance(net, Network):
        raise TypeError(f"The 'net' parameter must be a deltaprop Network. Got {type(net).__name__} instead.")
    X = net.check_X(_as_rows(X))
    Y = net.check_Y(_as_rows(Y), X.shape[0])
    check_scalar(lr, "lr", low=0.0, low_inclusive=False)
    check_scalar(l2, "l2", low=0.0)
    D, n = net.D, X.shape[0]
    cache = net.forward(X)
    grads = net.backward(cache, Y, l2=l2)
    deltas = _per_sample_deltas(net, cache, Y)

    out: list[Quantity] = []

    def add(
        stage: str, name: str, latex: str, equation: str, equation_latex: str, value: Any, code: str
    ) -> None:
        out.append(Quantity(name, latex, equation, equation_latex, np.asarray(value), code, stage))

    def sup(symbol: str, h: int) -> tuple[str, str]:
        """``symbol^(h)`` in text and in LaTeX."""
        return f"{symbol}^({h})", f"{symbol}^{{({h})}}"

    for h in range(1, D + 1):
        W, W_tex = sup("W", h)
        b, b_tex = sup("b", h)
        add("parameters", W, W_tex, f"{W} = the weights w(t)", W_tex, net.W[h - 1], f"net.W[{h - 1}]")
        add("parameters", b, b_tex, f"{b} = the biases b(t)", b_tex, net.b[h - 1], f"net.b[{h - 1}]")

    add("forward pass", "z^(0)", "z^{(0)}", "z^(0) = x", "z^{(0)} = x", cache.z[0].T, "cache.z[0].T")
    for h in range(1, D + 1):
        (a, a_tex), (z_prev, z_prev_tex) = sup("a", h), sup("z", h - 1)
        (W, W_tex), (b, b_tex) = sup("W", h), sup("b", h)
        eq, eq_tex = f"{a} = {W} {z_prev} + {b}", f"{a_tex} = {W_tex} {z_prev_tex} + {b_tex}"
        add("forward pass", a, a_tex, eq, eq_tex, cache.a[h - 1].T, f"cache.a[{h - 1}].T")
        if h < D:
            z, z_tex = sup("z", h)
            sigma = net.activations[h - 1].name
            eq = f"{z} = sigma({a}), sigma = {sigma}"
            eq_tex = rf"{z_tex} = \sigma({a_tex}) = \mathrm{{{_latex_escape(sigma)}}}({a_tex})"
            add("forward pass", z, z_tex, eq, eq_tex, cache.z[h].T, f"cache.z[{h}].T")
    output = net.output.name
    (a, a_tex), (z, z_tex) = sup("a", D), sup("z", D)
    eq = f"f(X) = {z} = sigma_out({a}), sigma_out = {output}"
    eq_tex = rf"f(X) = {z_tex} = \mathrm{{{output}}}({a_tex})"
    add("forward pass", "f(X)", "f(X)", eq, eq_tex, cache.z[D].T, f"cache.z[{D}].T")

    penalty, penalty_tex = (" + lambda/2 ||w||^2", r" + \tfrac{\lambda}{2}\|w\|^2") if l2 else ("", "")
    eq = f"L = (1/n) sum_i l(f(X_i), Y_i){penalty}, l = {net.output.loss_name.replace('_', ' ')}"
    eq_tex = rf"L = \frac{{1}}{{n}} \sum_i \ell(f(X_i), Y_i){penalty_tex}"
    add("loss", "L", "L", eq, eq_tex, net.cache_loss(cache, Y, l2), "net.cache_loss(cache, Y, l2)")

    backward_delta = "Network._backward's delta before the 1/n, transposed"
    add("backward pass", "Y", "Y", f"Y = the {_TARGETS.get(output, 'targets')}", "Y", Y.T, "Y.T")
    (delta, delta_tex), (a, a_tex) = sup("delta", D), sup("a", D)
    delta_tex = "\\" + delta_tex
    eq = f"{delta} = dl/d{a} = f(X) - Y"
    eq_tex = rf"{delta_tex} = \frac{{\partial \ell}}{{\partial {a_tex}}} = f(X) - Y"
    add("backward pass", delta, delta_tex, eq, eq_tex, deltas[D - 1].T, backward_delta)
    for h in reversed(range(1, D)):
        act = net.activations[h - 1]
        a, a_tex = sup("a", h)
        text, tex = _DERIVATIVES.get(
            act.name, (f"{act.name}'(@)", rf"\mathrm{{{_latex_escape(act.name)}}}'(@)")
        )
        name, name_tex = f"sigma'({a})", rf"\sigma'({a_tex})"
        code = f"net.activations[{h - 1}].df(cache.a[{h - 1}], cache.z[{h}]).T"
        derivative = act.df(cache.a[h - 1], cache.z[h]).T
        eq, eq_tex = f"{name} = " + text.replace("@", a), f"{name_tex} = " + tex.replace("@", a_tex)
        add("backward pass", name, name_tex, eq, eq_tex, derivative, code)
        (delta, delta_tex), (delta_up, delta_up_tex), (W_up, W_up_tex) = (
            sup("delta", h),
            sup("delta", h + 1),
            sup("W", h + 1),
        )
        delta_tex, delta_up_tex = "\\" + delta_tex, "\\" + delta_up_tex
        eq = f"{delta} = {name} o ({W_up})^T {delta_up}"
        eq_tex = rf"{delta_tex} = {name_tex} \circ ({W_up_tex})^\top {delta_up_tex}"
        add("backward pass", delta, delta_tex, eq, eq_tex, deltas[h - 1].T, backward_delta)

    # One sample: the lecture's per-sample formulas; a batch: their means.
    mean, mean_tex, i = ("", "", "") if n == 1 else ("(1/n) sum_i ", r"\frac{1}{n} \sum_i ", "_i")
    for h in range(1, D + 1):
        (W, W_tex), (b, b_tex), (z_prev, z_prev_tex) = sup("W", h), sup("b", h), sup("z", h - 1)
        delta, delta_tex = sup("delta", h)
        delta_tex = "\\" + delta_tex
        reg, reg_tex = (f" + lambda {W}", rf" + \lambda {W_tex}") if l2 else ("", "")
        dW, dW_tex = f"dL/d{W}", rf"\frac{{\partial L}}{{\partial {W_tex}}}"
        db, db_tex = f"dL/d{b}", rf"\frac{{\partial L}}{{\partial {b_tex}}}"
        eq = f"{dW} = {mean}{delta}{i} ({z_prev}{i})^T{reg}"
        eq_tex = rf"{dW_tex} = {mean_tex}{delta_tex}{i} ({z_prev_tex}{i})^\top{reg_tex}"
        add("gradients", dW, dW_tex, eq, eq_tex, grads.W[h - 1], f"net.backward(cache, Y, l2).W[{h - 1}]")
        eq, eq_tex = f"{db} = {mean}{delta}{i}", f"{db_tex} = {mean_tex}{delta_tex}{i}"
        add("gradients", db, db_tex, eq, eq_tex, grads.b[h - 1], f"net.backward(cache, Y, l2).b[{h - 1}]")

    for h in range(1, D + 1):
        for symbol, params, grad in (("W", net.W, grads.W), ("b", net.b, grads.b)):
            p, p_tex = sup(symbol, h)
            eq = f"{p}(t+1) = {p} - eta dL/d{p}"
            eq_tex = rf"{p_tex}(t+1) = {p_tex} - \eta \frac{{\partial L}}{{\partial {p_tex}}}"
            value = params[h - 1] - lr * grad[h - 1]
            code = f"net.{symbol}[{h - 1}] - lr * grads.{symbol}[{h - 1}]"
            add("gradient-descent step", f"{p}(t+1)", f"{p_tex}(t+1)", eq, eq_tex, value, code)

    return Trace(tuple(out), n, float(lr), float(l2), repr(net))
