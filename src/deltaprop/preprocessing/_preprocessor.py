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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from deltaprop.preprocessing._columns import (
    _SHOWN,
    MISSING,
    TASKS,
    DataError,
    MissingValuesError,
    Scalar,
    _check_columns,
    _check_frame,
    _check_missing,
    _column_statistics,
    _is_categorical,
    _is_numeric,
    _listing,
    _numeric_block,
    _one_hot,
    _rows,
    _sorted,
    _value,
    detect_task,
)
from deltaprop.preprocessing._storage import METADATA_KEY, VERSION, _stored_fields, check_network


def _check_statistics(
    names: list[str], values: NDArray[np.float64], mean: NDArray[np.float64], scale: NDArray[np.float64]
) -> None:
    """Refuse columns whose mean or standard deviation overflows float64 (values near 1e154 and up)."""
    bad = [j for j in range(len(names)) if not (np.isfinite(mean[j]) and np.isfinite(scale[j]))]
    if bad:
        named = ", ".join(f"{names[j]!r} (largest magnitude {np.max(np.abs(values[:, j])):.3g})" for j in bad)
        raise DataError(
            f"The column(s) {named} hold numbers too large to standardise: their mean or standard "
            "deviation overflows float64. Rescale them (divide by a power of ten) or take their logarithm."
        )


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
    >>> import pandas as pd
    >>> from deltaprop.preprocessing import Preprocessor
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
        DataError
            (a ValueError) for an unknown target column, no feature columns, a regression
            target that is not numeric, a single class, too many categories, or unusable
            dtypes; every problem column at once.
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
            raise DataError(
                f"The target column {target!r} is not in the data; "
                f"its columns are {_listing(list(frame.columns))}."
            )
        if len(frame) == 0:
            raise DataError("The data has no rows; at least one is needed to train.")
        columns = [c for c in frame.columns if c != target]
        if not columns:
            raise DataError(f"The data has no feature columns besides the target {target!r}.")
        not_text = [c for c in frame.columns if not isinstance(c, str)]
        if not_text:
            raise DataError(f"Column names must be text; got {not_text[:_SHOWN]}.")
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
                raise DataError(
                    f"The column {c!r} has dtype {frame[c].dtype}, which is neither numbers nor text; "
                    "convert it to numbers or text, or drop it."
                )
        prep = cls(target, task, missing, columns, numeric, np.zeros(len(numeric)), np.ones(len(numeric)))
        _check_missing(frame, columns, missing)
        prep.categories, prep.fill = _column_statistics(frame, columns, numeric, missing, max_categories)
        X_numeric = _numeric_block(frame, numeric, prep.fill)
        if numeric:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked just below
                prep.mean = X_numeric.mean(axis=0)
                std = X_numeric.std(axis=0)
            prep.scale = np.where(std > 0, std, 1.0)
            _check_statistics(numeric, X_numeric, prep.mean, prep.scale)
        prep._fit_target(y)
        return prep

    def _fit_target(self, y: pd.Series) -> None:
        if self.task == "classification":
            self.classes = _sorted(y)
            if len(self.classes) < 2:
                raise DataError(
                    f"The target {self.target!r} holds a single class {self.classes}; "
                    "classification needs at least two."
                )
            return
        if not _is_numeric(y):
            example = y.iloc[0]
            raise DataError(
                f"The target {self.target!r} is not numeric (it holds {example!r} in its first row); "
                "regression needs numbers. Use the classification task for labels."
            )
        values = y.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise DataError(f"The target {self.target!r} has infinite values; replace them.")
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked just below
            std = float(values.std())
            mean = float(values.mean())
        _check_statistics([self.target], values[:, None], np.array([mean]), np.array([std]))
        self.target_mean = mean
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
        _check_columns(frame, self.columns)
        _check_missing(frame, self.columns, self.missing)
        numbers = _numeric_block(frame, self.numeric, self.fill)
        numbers -= self.mean
        numbers /= self.scale
        blocks = [numbers]
        for c in self.columns:
            if c not in self.numeric:
                blocks.append(_one_hot(frame, c, self.categories[c], self.fill))
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
            raise DataError(
                f"The target {self.target!r} holds label(s) {unknown[:_SHOWN]} that the model never saw; "
                f"its classes are {_listing(self.classes)}."
            )
        return codes

    def _target_column(self, frame: pd.DataFrame) -> pd.Series:
        frame = _check_frame(frame)
        _check_columns(frame, [self.target])
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
            raise DataError(f"The target {self.target!r} is not numeric; regression needs numbers.")
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
                raise DataError(f"One output unit fits two classes; the target has {len(self.classes)}.")
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
        return cls(**_stored_fields(metadata, arrays))

    def check_network(self, sizes: list[int], output: str) -> None:
        """Raise a ValueError unless a network of layer widths ``sizes`` and ``output`` fits this.

        It must take :attr:`n_features` inputs and have the output units of the task:
        K softmax units for K classes, one sigmoid unit for two, one identity unit for
        regression.  A model file's digest does not prove this (it is not a signature),
        so :func:`deltaprop.cli` checks it at every load.
        """
        check_network(self, sizes, output)
