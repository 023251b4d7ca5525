"""Tables to arrays: preprocessing learned on the training rows, stored in the model file.

A network sees numbers; a data file holds columns of numbers, text and booleans, with
gaps.  A :class:`Preprocessor` is fitted once, on the training rows only, and maps any
table with the same columns to the network's input X (n, d) and target Y (n, K):

    column                        learned at fit                  applied at transform
    numeric (int, float)          mean mu_j, std. deviation s_j   (x_j - mu_j) / s_j  (s_j = 1 if constant)
    categorical (text, bool,      the categories seen, sorted     one 0/1 column per category; an unseen
    category)                                                     category gives all zeros and a warning
    target (classification)       the classes, sorted             one-hot Y (n, K); for a sigmoid output and
                                                                  two classes, the 0/1 column (n, 1)
    target (regression)           mean and std. deviation of y    (y - mean) / sd; predictions mapped back

Missing values (NaN, None, empty CSV cells): ``missing="refuse"`` (the default) raises
:class:`MissingValuesError` naming the columns and the first rows; ``missing="impute"``
fills numeric columns with the training median and categorical ones with the most
frequent training value, at fit and at every later transform.  A missing target is
always refused: there is nothing to learn from such a row.

Columns are found by name, so their order may change between fit and transform; a
missing column is an error that names it, and extra columns are ignored.
:meth:`Preprocessor.to_metadata` and :meth:`Preprocessor.from_metadata` store it all in
a model file (:mod:`deltaprop.modelfile`): JSON metadata plus two float64 arrays.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

MISSING = ("refuse", "impute")
TASKS = ("classification", "regression")
METADATA_KEY = "preprocessing"
VERSION = 1
_SHOWN = 5  # rows or values named in a message

Scalar = str | int | float | bool


class MissingValuesError(ValueError):
    """The data has missing values where the preprocessing cannot fill them."""


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


@dataclass(eq=False)
class Preprocessor:
    """Column-wise preprocessing of a table for a network, fitted by :meth:`fit`.

    Attributes
    ----------
    target : str
        The target column.
    task : {"classification", "regression"}
    missing : {"refuse", "impute"}
    columns : list of str
        The feature columns, in the order of the network's inputs.
    numeric : list of str
        The numeric ones among them (standardised); the others are categorical.
    mean, scale : ndarray of shape (len(numeric),)
        mu_j and s_j of the numeric columns.
    categories : dict of str to list
        The sorted categories of each categorical column.
    fill : dict of str to value
        The imputed value of each feature column (empty unless missing == "impute").
    classes : list or None
        The sorted class labels (classification).
    target_mean, target_scale : float or None
        The target's mean and standard deviation (regression).

    Examples
    --------
    >>> train = pd.DataFrame({"size": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"],
    ...                       "kind": ["a", "b", "a"]})
    >>> prep = Preprocessor.fit(train, "kind")
    >>> prep.task, prep.feature_names
    ('classification', ['size', 'colour=blue', 'colour=red'])
    >>> later = train[["colour", "size"]].iloc[:2]  # another column order
    >>> prep.transform(later).round(3).tolist()
    [[-1.225, 0.0, 1.0], [0.0, 1.0, 0.0]]
    >>> prep.encode_target(train).tolist()
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """

    target: str
    task: str
    missing: str
    columns: list[str]
    numeric: list[str]
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    categories: dict[str, list[Scalar]] = field(default_factory=dict)
    fill: dict[str, Scalar] = field(default_factory=dict)
    classes: list[Scalar] | None = None
    target_mean: float | None = None
    target_scale: float | None = None

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        target: str,
        *,
        task: str | None = None,
        missing: str = "refuse",
        max_classes: int = 20,
        max_categories: int = 100,
    ) -> Preprocessor:
        """Learn the preprocessing of ``frame``'s columns and of its ``target`` column.

        Parameters
        ----------
        frame : DataFrame
            The training rows: the target column and the feature columns (all others).
        target : str
        task : {"classification", "regression"}, optional
            Detected by :func:`detect_task` if not given.
        missing : {"refuse", "impute"}, default "refuse"
        max_classes : int, default 20
            The most distinct integers a target may hold to count as classes.
        max_categories : int, default 100
            The most categories a categorical column may have (more usually means an
            identifier column, which should be dropped).

        Raises
        ------
        ValueError
            For an unknown target column, no feature columns, a regression target that
            is not numeric, a single class, too many categories, or unusable dtypes.
        MissingValuesError
            For missing target values, and for missing feature values with "refuse".
        """
        frame = _check_frame(frame)
        if missing not in MISSING:
            raise ValueError(
                f"The 'missing' parameter must be one of {list(MISSING)}. Got {missing!r} instead."
            )
        if task is not None and task not in TASKS:
            raise ValueError(f"The 'task' parameter must be one of {list(TASKS)}. Got {task!r} instead.")
        if target not in frame.columns:
            raise ValueError(
                f"The target column {target!r} is not in the data; "
                f"its columns are {_listing(list(frame.columns))}."
            )
        if len(frame) == 0:
            raise ValueError("The data has no rows; at least one is needed to train.")
        columns = [c for c in frame.columns if c != target]
        if not columns:
            raise ValueError(f"The data has no feature columns besides the target {target!r}.")
        not_text = [c for c in frame.columns if not isinstance(c, str)]
        if not_text:
            raise ValueError(f"Column names must be text; got {not_text[:_SHOWN]}.")
        y = frame[target]
        absent = y.index[y.isna().to_numpy()]
        if len(absent):
            raise MissingValuesError(
                f"The target column {target!r} has {len(absent)} missing values, in rows {_rows(absent)}; "
                "remove those rows (a row without a target cannot be learned from)."
            )
        if task is None:
            task = detect_task(y, max_classes)[0]
        numeric = [c for c in columns if _is_numeric(frame[c])]
        for c in columns:
            if c not in numeric and not _is_categorical(frame[c]):
                raise ValueError(
                    f"The column {c!r} has dtype {frame[c].dtype}, which is neither numbers nor text; "
                    "convert it to numbers or text, or drop it."
                )
        prep = cls(target, task, missing, columns, numeric, np.zeros(len(numeric)), np.ones(len(numeric)))
        prep._check_missing(frame)
        for c in columns:
            values = frame[c].dropna()
            if c in numeric:
                numbers = values.to_numpy(dtype=np.float64)
                if not np.isfinite(numbers).all():
                    raise ValueError(f"The column {c!r} has infinite values; replace them.")
                if missing == "impute":
                    if numbers.size == 0:
                        raise ValueError(f"The column {c!r} has no values at all; drop it.")
                    prep.fill[c] = float(np.median(numbers))
            else:
                cats = _sorted(values)
                if len(cats) > max_categories:
                    raise ValueError(
                        f"The categorical column {c!r} has {len(cats)} distinct values (more than "
                        f"{max_categories}); it looks like an identifier: drop it, or encode it as numbers."
                    )
                if not cats:
                    raise ValueError(f"The column {c!r} has no values at all; drop it.")
                prep.categories[c] = cats
                if missing == "impute":
                    counts = pd.Series([_value(v) for v in values]).value_counts()
                    top = counts[counts == counts.max()].index
                    prep.fill[c] = _sorted(top)[0]
        X_numeric = prep._numeric_block(frame, standardise=False)
        if numeric:
            prep.mean = X_numeric.mean(axis=0)
            std = X_numeric.std(axis=0)
            prep.scale = np.where(std > 0, std, 1.0)
        prep._fit_target(y)
        return prep

    def _fit_target(self, y: pd.Series) -> None:
        if self.task == "classification":
            self.classes = _sorted(y)
            if len(self.classes) < 2:
                raise ValueError(
                    f"The target {self.target!r} holds a single class {self.classes}; "
                    "classification needs at least two."
                )
            return
        if not _is_numeric(y):
            example = y.iloc[0]
            raise ValueError(
                f"The target {self.target!r} is not numeric (it holds {example!r} in its first row); "
                "regression needs numbers. Use the classification task for labels."
            )
        values = y.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"The target {self.target!r} has infinite values; replace them.")
        std = float(values.std())
        self.target_mean = float(values.mean())
        self.target_scale = std if std > 0 else 1.0

    # --------------------------------------------------------------- transforms
    @property
    def feature_names(self) -> list[str]:
        """The names of X's columns: numeric columns by name, then ``column=category``."""
        names = list(self.numeric)
        for c in self.columns:
            if c not in self.numeric:
                names += [f"{c}={cat}" for cat in self.categories[c]]
        return names

    @property
    def n_features(self) -> int:
        """d, the number of X's columns (the network's input width M_0)."""
        return len(self.feature_names)

    @property
    def n_outputs(self) -> int:
        """K: the number of classes, or 1 for regression."""
        return 1 if self.classes is None else len(self.classes)

    def summary(self) -> str:
        """One line: what the preprocessing does to which columns."""
        n_cat = len(self.columns) - len(self.numeric)
        parts = [f"{len(self.numeric)} numeric column(s) standardised"]
        if n_cat:
            parts.append(f"{n_cat} categorical column(s) one-hot encoded")
        if self.fill:
            parts.append("missing values imputed")
        return ", ".join(parts) + f"; {len(self.columns)} columns -> {self.n_features} inputs"

    def _check_columns(self, frame: pd.DataFrame, columns: list[str]) -> None:
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise ValueError(
                f"The data lacks the column(s) {absent} that the model was trained on; "
                f"its columns are {_listing(list(frame.columns))}."
            )

    def _check_missing(self, frame: pd.DataFrame) -> None:
        gaps = frame[self.columns].isna()
        if self.missing == "impute" or not gaps.any().any():
            return
        per_column = gaps.sum()
        named = ", ".join(f"{c!r} ({int(k)})" for c, k in per_column[per_column > 0].items())
        rows = frame.index[gaps.any(axis=1).to_numpy()]
        raise MissingValuesError(
            f"Missing values in the column(s) {named}, in rows {_rows(rows)}; fill or remove them, or "
            "impute them with missing='impute' (--missing impute on the command line): the training "
            "median of a numeric column, the most frequent value of a categorical one."
        )

    def _filled(self, frame: pd.DataFrame, c: str) -> pd.Series:
        column = frame[c]
        if c in self.fill and column.isna().any():
            column = column.astype(object).where(column.notna(), self.fill[c])
        return column

    def _numeric_block(self, frame: pd.DataFrame, standardise: bool = True) -> NDArray[np.float64]:
        block = np.empty((len(frame), len(self.numeric)))
        for j, c in enumerate(self.numeric):
            column = self._filled(frame, c)
            numbers = pd.to_numeric(column, errors="coerce")
            bad = frame.index[(numbers.isna() & column.notna()).to_numpy()]
            if len(bad):
                raise ValueError(
                    f"The column {c!r} was numeric at training but holds {column.loc[bad[0]]!r} "
                    f"in rows {_rows(bad)}."
                )
            block[:, j] = numbers.to_numpy(dtype=np.float64)
        if not np.isfinite(block).all():
            j = int(np.flatnonzero(~np.isfinite(block).all(axis=0))[0])
            raise ValueError(f"The column {self.numeric[j]!r} has infinite values; replace them.")
        if standardise:
            block -= self.mean
            block /= self.scale
        return block

    def transform(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """The network's input X (n, d) for the feature columns of ``frame``.

        Columns are looked up by name (any order; extra columns are ignored).  A
        categorical value not seen at training is encoded as all zeros, with an
        :class:`UnseenCategoryWarning` naming the column and the values.

        Raises
        ------
        ValueError
            For a missing column, or text in a column that was numeric at training.
        MissingValuesError
            For missing values when the preprocessing was fitted with missing="refuse".
        """
        frame = _check_frame(frame)
        self._check_columns(frame, self.columns)
        self._check_missing(frame)
        blocks = [self._numeric_block(frame)]
        for c in self.columns:
            if c in self.numeric:
                continue
            index = {cat: k for k, cat in enumerate(self.categories[c])}
            values = self._filled(frame, c)
            codes = np.fromiter((index.get(_value(v), -1) for v in values), dtype=np.intp, count=len(frame))
            one_hot = np.zeros((len(frame), len(index)))
            seen = codes >= 0
            one_hot[np.flatnonzero(seen), codes[seen]] = 1.0
            if not seen.all():
                unseen = _sorted(values[~seen])
                warnings.warn(
                    f"The column {c!r} has {int((~seen).sum())} value(s) not seen at training "
                    f"{unseen[:_SHOWN]}, encoded as all zeros; known are {_listing(self.categories[c])}.",
                    UnseenCategoryWarning,
                    stacklevel=2,
                )
            blocks.append(one_hot)
        return np.hstack(blocks)

    def target_indices(self, frame: pd.DataFrame) -> NDArray[np.intp]:
        """Class indices 0..K-1 of ``frame``'s target column (classification).

        Raises
        ------
        ValueError
            For labels not seen at training or missing labels.
        """
        if self.classes is None:
            raise ValueError("target_indices is for classification; this preprocessing is for regression.")
        y = self._target_column(frame)
        index = {c: k for k, c in enumerate(self.classes)}
        codes = np.fromiter((index.get(_value(v), -1) for v in y), dtype=np.intp, count=len(y))
        if (codes < 0).any():
            unknown = _sorted(y[codes < 0])
            raise ValueError(
                f"The target {self.target!r} holds label(s) {unknown[:_SHOWN]} that the model never saw; "
                f"its classes are {_listing(self.classes)}."
            )
        return codes

    def _target_column(self, frame: pd.DataFrame) -> pd.Series:
        frame = _check_frame(frame)
        self._check_columns(frame, [self.target])
        y = frame[self.target]
        absent = y.index[y.isna().to_numpy()]
        if len(absent):
            raise MissingValuesError(
                f"The target column {self.target!r} has {len(absent)} missing values, "
                f"in rows {_rows(absent)}."
            )
        return y

    def target_values(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """The regression target of ``frame`` as float64 (n,), in its own units."""
        y = self._target_column(frame)
        numbers = pd.to_numeric(y, errors="coerce")
        if numbers.isna().any() or pd.api.types.is_bool_dtype(y.dtype):
            raise ValueError(f"The target {self.target!r} is not numeric; regression needs numbers.")
        return numbers.to_numpy(dtype=np.float64)

    def encode_target(self, frame: pd.DataFrame, n_outputs: int | None = None) -> NDArray[np.float64]:
        """The network's target Y for ``frame``'s target column.

        Classification: one-hot rows (n, K), or with ``n_outputs=1`` (two classes, a
        sigmoid output) the 0/1 column (n, 1) that is 1 for the second class.
        Regression: the standardised target (n, 1).
        """
        if self.classes is None:
            assert self.target_mean is not None and self.target_scale is not None
            return ((self.target_values(frame) - self.target_mean) / self.target_scale)[:, None]
        codes = self.target_indices(frame)
        if n_outputs == 1:
            if len(self.classes) != 2:
                raise ValueError(f"One output unit fits two classes; the target has {len(self.classes)}.")
            return codes[:, None].astype(np.float64)
        return np.eye(len(self.classes))[codes]

    def probabilities(self, F: NDArray[Any]) -> NDArray[np.float64]:
        """Class probabilities (n, K) from the network's output f(X): softmax rows, or a sigmoid column."""
        F = np.asarray(F, dtype=np.float64)
        if F.shape[1] == 1:
            return np.column_stack([1.0 - F[:, 0], F[:, 0]])
        return F

    def decode(self, F: NDArray[Any]) -> NDArray[Any]:
        """Predictions (n,) in the target's own terms: class labels, or numbers in the target's units."""
        F = np.asarray(F, dtype=np.float64)
        if self.classes is None:
            assert self.target_mean is not None and self.target_scale is not None
            return F[:, 0] * self.target_scale + self.target_mean
        labels = np.asarray(self.classes)
        return labels[self.probabilities(F).argmax(axis=1)]

    # ------------------------------------------------------------------ storage
    def to_metadata(self) -> tuple[dict[str, Any], dict[str, NDArray[np.float64]]]:
        """JSON metadata and float64 arrays for :func:`deltaprop.modelfile.save`."""
        metadata = {
            "version": VERSION,
            "target": self.target,
            "task": self.task,
            "missing": self.missing,
            "columns": list(self.columns),
            "numeric": list(self.numeric),
            "categories": {c: list(cats) for c, cats in self.categories.items()},
            "fill": dict(self.fill),
            "classes": None if self.classes is None else list(self.classes),
            "target_mean": self.target_mean,
            "target_scale": self.target_scale,
        }
        arrays = {f"{METADATA_KEY}.mean": self.mean, f"{METADATA_KEY}.scale": self.scale}
        return metadata, arrays

    @classmethod
    def from_metadata(cls, metadata: Any, arrays: dict[str, Any]) -> Preprocessor:
        """The Preprocessor that :meth:`to_metadata` stored.

        Raises
        ------
        ValueError
            If the metadata is not a stored preprocessing of this version.
        """
        if not isinstance(metadata, dict) or metadata.get("version") != VERSION:
            version = metadata.get("version") if isinstance(metadata, dict) else None
            raise ValueError(
                f"The stored preprocessing has version {version!r}; this deltaprop reads {VERSION}."
            )
        try:
            prep = cls(
                target=str(metadata["target"]),
                task=str(metadata["task"]),
                missing=str(metadata["missing"]),
                columns=[str(c) for c in metadata["columns"]],
                numeric=[str(c) for c in metadata["numeric"]],
                mean=np.asarray(arrays[f"{METADATA_KEY}.mean"], dtype=np.float64),
                scale=np.asarray(arrays[f"{METADATA_KEY}.scale"], dtype=np.float64),
                categories={str(c): list(v) for c, v in metadata["categories"].items()},
                fill=dict(metadata["fill"]),
                classes=None if metadata["classes"] is None else list(metadata["classes"]),
                target_mean=metadata["target_mean"],
                target_scale=metadata["target_scale"],
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(
                f"The stored preprocessing is incomplete: {error!r} is missing or invalid."
            ) from None
        consistent = (
            prep.task in TASKS
            and prep.missing in MISSING
            and set(prep.numeric) <= set(prep.columns)
            and set(prep.categories) == set(prep.columns) - set(prep.numeric)
            and prep.mean.shape == prep.scale.shape == (len(prep.numeric),)
            and (prep.classes is None) == (prep.task == "regression")
        )
        if not consistent:
            raise ValueError(
                "The stored preprocessing is inconsistent: its columns, statistics or task disagree."
            )
        return prep
