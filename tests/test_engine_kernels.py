"""The fused step's element-wise kernels against what they compute, number by number.

exp and log (``deltaprop.engine._exp``) are measured in units in the last place against
NumPy's in extended precision over their whole range; the column sums and the softmax
unit against the reference's arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from deltaprop.engine._exp import exp_nonpositive, log_at_least_one
from deltaprop.engine._fused import (
    LEAKY_RELU,
    NARROW,
    RELU,
    activate,
    column_sums,
    softmax_cross_entropy,
    softmax_rows,
    softmax_two,
    times_derivative,
)

DTYPES = [np.float32, np.float64]
WIDE = np.longdouble  # 64 significant bits on x86: the reference's rounding error is negligible


def _ulps(got: np.ndarray, exact: np.ndarray, dtype: type) -> np.ndarray:
    return np.abs(got.astype(WIDE) - exact) / np.spacing(exact.astype(dtype)).astype(WIDE)


def _nonpositive(dtype: type, rng: np.random.Generator) -> np.ndarray:
    """x <= 0 from -1e-8 to the underflow and below, log-uniform and on an even grid."""
    lowest = 110.0 if dtype is np.float32 else 750.0
    spread = -np.abs(rng.standard_normal(200_000)) * 10 ** rng.uniform(-8, np.log10(lowest), 200_000)
    return np.concatenate([spread, np.linspace(-lowest, 0.0, 200_001)]).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_is_within_a_unit_and_a_half_in_the_last_place(dtype: type) -> None:
    x = _nonpositive(dtype, np.random.default_rng(0))
    got = x.copy()
    exp_nonpositive(got)
    exact = np.exp(x.astype(WIDE))
    normal = exact >= np.finfo(dtype).tiny
    assert normal.sum() > 300_000 and (~normal).sum() > 1000
    assert _ulps(got[normal], exact[normal], dtype).max() <= 1.5
    # denormal results: rounded once, so off by at most one step of the smallest denormal
    steps = np.abs(got[~normal].astype(WIDE) - exact[~normal]) / WIDE(np.finfo(dtype).smallest_subnormal)
    assert steps.max() <= 1.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_of_special_values(dtype: type) -> None:
    x = np.array([0.0, -0.0, np.nan, -np.inf, -1e-30, -1e4], dtype)
    exp_nonpositive(x)
    assert x[0] == 1.0 and x[1] == 1.0 and x[4] == 1.0  # e^0 = 1 exactly: softmax's largest term
    assert np.isnan(x[2])
    assert x[3] == 0.0 and x[5] == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_is_within_three_units_in_the_last_place(dtype: type) -> None:
    rng = np.random.default_rng(1)
    top = np.finfo(dtype).max
    near_one = 1 + np.abs(rng.standard_normal(200_000)) * 10 ** rng.uniform(-7, 3, 200_000)
    with np.errstate(over="ignore"):
        spread = np.geomspace(1.0, float(top), 200_000).astype(dtype)
    s = np.concatenate([near_one.astype(dtype), spread[np.isfinite(spread)], [top]]).astype(dtype)
    got = s.copy()
    log_at_least_one(got)
    exact = np.log(s.astype(WIDE))
    assert got[s == 1][0] == 0.0
    positive = exact > 0
    assert _ulps(got[positive], exact[positive], dtype).max() <= 3.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_of_special_values(dtype: type) -> None:
    s = np.array([1.0, np.inf, np.nan, 2.0], dtype)
    log_at_least_one(s)
    assert s[0] == 0.0 and s[1] == np.inf and np.isnan(s[2])
    assert s[3] == dtype(np.log(2.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [1, 2, 7, 8, 9, 16, 17, 200, 1023])
@pytest.mark.parametrize("width", [1, 2, 8, 13])
def test_column_sums_add_the_rows_in_order(dtype: type, rows: int, width: int) -> None:
    rng = np.random.default_rng(rows * 100 + width)
    delta = (rng.standard_normal((rows, width)) * 10 ** rng.uniform(-3, 3, (rows, width))).astype(dtype)
    in_order = delta[0].copy()
    for r in range(1, rows):
        in_order = in_order + delta[r]
    db = np.full(width, np.nan, dtype)
    column_sums(delta, db, False)
    np.testing.assert_array_equal(db, in_order)
    before = rng.standard_normal(width).astype(dtype)
    db = before.copy()
    column_sums(delta, db, True)
    expected = before.copy()
    for r in range(rows):
        expected = expected + delta[r]
    np.testing.assert_array_equal(db, expected)


def _softmax_reference(a: np.ndarray, Y: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's softmax and cross-entropy, row by row in float64: per-row losses and c (f - Y)."""
    shifted = a - a.max(axis=1, keepdims=True)
    f = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -(Y * np.log(f)).sum(axis=1)
    return loss, c[:, None] * (f - Y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("rows", "classes"), [(1, 2), (200, 2), (33, 10), (5, 1), (64, 3)])
@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_cross_entropy_matches_the_lecture(
    dtype: type, rows: int, classes: int, weighted: bool
) -> None:
    rng = np.random.default_rng(rows + classes)
    a = (3 * rng.standard_normal((rows, classes))).astype(dtype)
    b = rng.standard_normal(classes).astype(dtype)
    Y = np.eye(classes, dtype=dtype)[rng.integers(0, classes, rows)]
    c = (rng.uniform(0.1, 1, rows) if weighted else np.full(rows, 1 / rows)).astype(dtype)
    scratch = np.full((3, rows), np.nan, dtype)
    delta = np.full((rows, classes), np.nan, dtype)
    logits = a + b
    total = softmax_cross_entropy(a, b, Y, c, weighted, scratch[0], scratch[1], scratch[2], delta)
    np.testing.assert_array_equal(a, logits)  # a^(D) + b^(D), kept for the backward pass
    wide = [array.astype(np.float64) for array in (logits, Y, c)]
    loss, expected_delta = _softmax_reference(*wide)
    tolerance = 2e-6 if dtype is np.float32 else 1e-14
    expected_total = (loss * wide[2]).sum() if weighted else loss.sum()
    assert total == pytest.approx(expected_total, rel=tolerance, abs=tolerance)
    np.testing.assert_allclose(delta, expected_delta, rtol=tolerance * 10, atol=tolerance * 10 / rows)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_of_a_non_finite_row_is_not_finite(dtype: type) -> None:
    a = np.array([[1.0, 2.0], [np.nan, 0.0], [0.0, np.inf]], dtype)
    Y = np.eye(2, dtype=dtype)[[0, 1, 0]]
    c = np.full(3, 1 / 3, dtype)
    scratch = np.empty((3, 3), dtype)
    for row in (1, 2):
        logits = np.vstack([a[0], a[row]])
        bias, delta = np.zeros(2, dtype), np.empty((2, 2), dtype)
        total = softmax_cross_entropy(logits, bias, Y[[0, row]], c[:2], False, *scratch[:, :2], delta)
        assert not np.isfinite(total)


@pytest.mark.parametrize("transpose_first", [False, True])
def test_the_flat_layout_gives_the_network_s_shapes_back_as_views(transpose_first: bool) -> None:
    from deltaprop.engine._layout import FlatLayout
    from deltaprop.network import Network

    net = Network([3, 5, 4, 2], random_state=0)
    layout = FlatLayout(net, transpose_first=transpose_first)
    flat = layout.flatten(net.params)
    views = layout.unflatten(flat)
    for mine, theirs in zip(views.W + views.b, net.W + net.b, strict=True):
        assert mine.shape == theirs.shape
        np.testing.assert_array_equal(mine, theirs)
    # W^(1) kept as its transpose, row by row, at the start of the flat vector
    first = net.W[0].T if transpose_first else net.W[0]
    np.testing.assert_array_equal(flat.W[0][: net.W[0].size], first.ravel())
    views.W[0][1, 2] = 7.0  # a view: writing it writes the flat vector
    assert 7.0 in flat.W[0][: net.W[0].size]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", [RELU, LEAKY_RELU])
@pytest.mark.parametrize(
    ("rows", "width"), [(1, 1), (3, 7), (200, 8), (37, 2), (65, 31), (10, NARROW), (9, 40)]
)
def test_activation_and_its_derivative_are_the_formula_number_by_number(
    dtype: type, act: int, rows: int, width: int
) -> None:
    rng = np.random.default_rng(rows * width)
    a = rng.normal(size=(rows, width)).astype(dtype)
    b = rng.normal(size=width).astype(dtype)
    slope = dtype(0.01)
    x = a + b
    want = np.maximum(x, 0) if act == RELU else np.where(x > 0, x, slope * x)
    z = a.copy()
    activate(z, b, act, slope)  # narrow layers as one vector, wider ones row by row: the same bits
    np.testing.assert_array_equal(z, want)
    g = rng.normal(size=(rows, width)).astype(dtype)
    dg = g.copy()
    times_derivative(dg, z, act, slope)
    np.testing.assert_array_equal(dg, np.where(z > 0, g, 0 if act == RELU else slope * g))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [1, 2, 7, 200])
@pytest.mark.parametrize("weighted", [False, True])
def test_two_classes_are_the_rows_softmax_number_for_number(dtype: type, rows: int, weighted: bool) -> None:
    rng = np.random.default_rng(rows)
    a = (3 * rng.standard_normal((rows, 2))).astype(dtype)
    a[0] = [-0.0, 0.0]  # a tie of signed zeros: the same maximum either way
    b = np.zeros(2, dtype) if rows == 1 else rng.standard_normal(2).astype(dtype)
    Y = rng.uniform(0, 1, (rows, 2)).astype(dtype)  # soft labels: every term of the loss counts
    c = (rng.uniform(0.1, 1, rows) if weighted else np.full(rows, 1 / rows)).astype(dtype)
    results = []
    for kernel in (softmax_two, softmax_rows):
        logits, scratch, delta = (
            a.copy(),
            np.full((3, rows), np.nan, dtype),
            np.full((rows, 2), np.nan, dtype),
        )
        total = kernel(logits, b, Y, c, weighted, scratch[0], scratch[1], scratch[2], delta)
        results.append((total, logits, scratch, delta))
    (t2, *two), (tr, *by_rows) = results
    assert t2 == tr
    for mine, theirs in zip(two, by_rows, strict=True):
        np.testing.assert_array_equal(mine, theirs)
