"""The columns of a table as :mod:`deltaprop.preprocessing` reads them: kinds, values, gaps, encodings.

Whether a column is numeric or categorical and a target a classification or a
regression (:func:`detect_task`); cells as JSON-storable categories; the checks for
absent columns and missing values (:class:`MissingValuesError`); and the column-wise
work of fitting and transforming: the categories and fill values learned per
column, the block of numeric columns, a categorical column's one-hot block
(:class:`UnseenCategoryWarning` for a value not seen at training), and the short
listings of rows and values that the messages name.  Re-exported by
:mod:`deltaprop.preprocessing`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

MISSING = ("refuse", "impute")
TASKS = ("classification", "regression")
_SHOWN = 5  # rows or values named in a message

Scalar = str | int | float | bool


class DataError(ValueError):
    """A table whose columns or values the preprocessing cannot use; the message names the culprit."""


class MissingValuesError(DataError):
    """The data has missing values where the preprocessing cannot fill them."""


class IdentifierColumnWarning(UserWarning):
    """A numeric column looks like a row identifier; it is used as a feature all the same."""


class UnseenCategoryWarning(UserWarning):
    """A categorical column holds a value not seen at training; it is encoded as all zeros."""


def _value(v: Any) -> Scalar:
    """A table cell as a JSON-storable category or class: bool, int, float or str."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return v if isinstance(v, str) else str(v)


def _sorted(values: Any) -> list[Scalar]:
    """Distinct values, sorted within each type (mixed columns stay sortable)."""
    return sorted({_value(v) for v in values}, key=lambda v: (type(v).__name__, v))


def _rows(index: pd.Index) -> str:
    shown = ", ".join(repr(i) if isinstance(i, str) else str(i) for i in index[:_SHOWN])
    more = f" and {len(index) - _SHOWN} more" if len(index) > _SHOWN else ""
    return f"[{shown}{more}]"


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    )


def _is_categorical(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _check_frame(frame: Any, name: str = "frame") -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"The {name!r} parameter must be a pandas DataFrame. Got {type(frame).__name__} instead."
        )
    return frame


def _listing(names: list[Any], limit: int = 20) -> str:
    shown = [str(n) for n in names[:limit]]
    return str(shown)[:-1] + (f", ... ({len(names) - limit} more)]" if len(names) > limit else "]")


def detect_task(y: pd.Series, max_classes: int = 20) -> tuple[str, str]:
    """Classification or regression from a target column, and why.

    Non-numeric targets (text, category, bool) and integer targets with at most
    ``max_classes`` distinct values are classification; other numbers are regression.

    Examples
    --------
    >>> detect_task(pd.Series([0, 1, 2, 1], name="digit"))
    ('classification', "the target 'digit' holds 3 distinct integers (at most 20)")
    >>> detect_task(pd.Series([0.5, 1.25], name="price"))[0]
    'regression'
    """
    name = y.name
    if not _is_numeric(y):
        k = y.dropna().nunique()
        return "classification", f"the target {name!r} is not numeric ({k} distinct values)"
    k = int(y.nunique())
    if pd.api.types.is_integer_dtype(y.dtype):
        if k <= max_classes:
            return (
                "classification",
                f"the target {name!r} holds {k} distinct integers (at most {max_classes})",
            )
        return "regression", f"the target {name!r} holds {k} distinct integers (more than {max_classes})"
    return "regression", f"the target {name!r} holds real numbers"


def _check_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    """Raise if ``frame`` lacks any of ``columns``, naming them and the columns it has."""
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(
            f"The data lacks the column(s) {absent} that the model was trained on; "
            f"its columns are {_listing(list(frame.columns))}."
        )


def _check_missing(frame: pd.DataFrame, columns: list[str], missing: str) -> None:
    """Raise :class:`MissingValuesError` for gaps in ``columns`` unless ``missing`` is "impute"."""
    gaps = frame[columns].isna()
    if missing == "impute" or not gaps.any().any():
        return
    per_column = gaps.sum()
    named = ", ".join(f"{c!r} ({int(k)})" for c, k in per_column[per_column > 0].items())
    rows = frame.index[gaps.any(axis=1).to_numpy()]
    raise MissingValuesError(
        f"Missing values in the column(s) {named}, in rows {_rows(rows)}; fill or remove them, or "
        "impute them with missing='impute' (--missing impute on the command line): the training "
        "median of a numeric column, the most frequent value of a categorical one."
    )


def _stray_text(values: pd.Series) -> pd.Series | None:
    """The cells of a text column that is numbers but for a few stray words, or None if it is not."""
    numbers = pd.to_numeric(values, errors="coerce")
    parsed = numbers.notna()
    if parsed.mean() < 0.9 or parsed.all() or numbers[parsed].nunique() <= 20:
        return None
    return values[~parsed]


def _looks_like_dates(values: pd.Series) -> bool:
    """Whether most cells of a text column are dates (ISO 8601 and the like)."""
    sample = values.astype(str).head(50)
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.9)


def _looks_like_identifier(name: str, column: pd.Series) -> bool:
    """An integer column with a distinct value per row that counts rows or is called an id."""
    values = column.dropna()
    n = len(values)
    if n < 20 or not pd.api.types.is_integer_dtype(values.dtype) or values.nunique() != n:
        return False
    ordered = np.sort(values.to_numpy())
    counts = bool((np.diff(ordered) == 1).all())
    return counts or name.lower() in ("id", "index", "key") or name.lower().endswith(("_id", " id"))


def _column_statistics(
    frame: pd.DataFrame, columns: list[str], numeric: list[str], missing: str, max_categories: int
) -> tuple[dict[str, list[Scalar]], dict[str, Scalar]]:
    """The sorted categories of each categorical column, and each column's fill value (with "impute").

    Every column that cannot be used is named in one :class:`DataError`, so that a run
    shows them all (an identifier and a date column, say) rather than one per run.
    """
    categories: dict[str, list[Scalar]] = {}
    fill: dict[str, Scalar] = {}
    problems: list[str] = []
    droppable: list[str] = []
    for c in columns:
        values = frame[c].dropna()
        if c in numeric:
            numbers = values.to_numpy(dtype=np.float64)
            if not np.isfinite(numbers).all():
                bad = values.index[~np.isfinite(numbers)]
                problems.append(f"the column {c!r} has infinite values in rows {_rows(bad)}; replace them")
                continue
            if missing == "impute":
                if numbers.size == 0:
                    problems.append(f"the column {c!r} has no values at all")
                    droppable.append(c)
                    continue
                fill[c] = float(np.median(numbers))
            if _looks_like_identifier(c, frame[c]):
                warnings.warn(
                    f"The column {c!r} holds a different integer in every row, like a row number or an "
                    f"identifier; it is used as a feature. Drop it if it is one (--drop {c} on the command "
                    "line).",
                    IdentifierColumnWarning,
                    stacklevel=4,  # the caller of Preprocessor.fit
                )
            continue
        stray = _stray_text(values)
        if stray is not None:
            shown = _sorted(stray)[:_SHOWN]
            problems.append(
                f"the column {c!r} holds numbers but also the text {shown} in rows {_rows(stray.index)}; "
                "fix or empty those cells"
            )
            continue
        cats = _sorted(values)
        if not cats:
            problems.append(f"the column {c!r} has no values at all")
            droppable.append(c)
            continue
        if len(cats) > max_categories:
            kind = "dates" if _looks_like_dates(values) else "an identifier"
            problems.append(
                f"the categorical column {c!r} has {len(cats)} distinct values (more than {max_categories}); "
                f"it looks like {kind}"
            )
            droppable.append(c)
            continue
        categories[c] = cats
        if missing == "impute":
            counts = pd.Series([_value(v) for v in values]).value_counts()
            top = counts[counts == counts.max()].index
            fill[c] = _sorted(top)[0]
    if problems:
        advice = ""
        if droppable:
            which = "it" if len(droppable) == 1 else "them"
            advice = (
                f" Drop {which} (--drop {','.join(droppable)} on the command line), "
                "or encode such a column as numbers."
            )
        text = "; ".join(problems)
        raise DataError(text[0].upper() + text[1:] + "." + advice)
    return categories, fill


def _filled(frame: pd.DataFrame, c: str, fill: dict[str, Scalar]) -> pd.Series:
    """Column ``c`` with its gaps replaced by its fill value, if it has one."""
    column = frame[c]
    if c in fill and column.isna().any():
        column = column.astype(object).where(column.notna(), fill[c])
    return column


def _numeric_block(frame: pd.DataFrame, numeric: list[str], fill: dict[str, Scalar]) -> NDArray[np.float64]:
    """The ``numeric`` columns of ``frame`` as float64 (n, len(numeric)), gaps filled, not standardised."""
    block = np.empty((len(frame), len(numeric)))
    for j, c in enumerate(numeric):
        column = _filled(frame, c, fill)
        numbers = pd.to_numeric(column, errors="coerce")
        bad = frame.index[(numbers.isna() & column.notna()).to_numpy()]
        if len(bad):
            raise DataError(
                f"The column {c!r} was numeric at training but holds {column.loc[bad[0]]!r} "
                f"in rows {_rows(bad)}."
            )
        block[:, j] = numbers.to_numpy(dtype=np.float64)
    if not np.isfinite(block).all():
        j = int(np.flatnonzero(~np.isfinite(block).all(axis=0))[0])
        raise DataError(f"The column {numeric[j]!r} has infinite values; replace them.")
    return block


def _one_hot(
    frame: pd.DataFrame, c: str, categories: list[Scalar], fill: dict[str, Scalar]
) -> NDArray[np.float64]:
    """The 0/1 block (n, len(categories)) of categorical column ``c``; an unseen value is all zeros."""
    index = {cat: k for k, cat in enumerate(categories)}
    values = _filled(frame, c, fill)
    codes = np.fromiter((index.get(_value(v), -1) for v in values), dtype=np.intp, count=len(frame))
    one_hot = np.zeros((len(frame), len(index)))
    seen = codes >= 0
    one_hot[np.flatnonzero(seen), codes[seen]] = 1.0
    if not seen.all():
        unseen = _sorted(values[~seen])
        warnings.warn(
            f"The column {c!r} has {int((~seen).sum())} value(s) not seen at training "
            f"{unseen[:_SHOWN]}, encoded as all zeros; known are {_listing(categories)}.",
            UnseenCategoryWarning,
            stacklevel=3,  # the caller of Preprocessor.transform
        )
    return one_hot
