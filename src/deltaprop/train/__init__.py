"""Training loops."""

from deltaprop._api import publish
from deltaprop.metrics import output_score as score  # the validation score fit records
from deltaprop.train._fit import (
    Callback,
    DivergenceError,
    Trainer,
    fit,
    gradient_descent,
)
from deltaprop.train._history import History
from deltaprop.train._split import split_validation

__all__ = [
    "Callback",
    "DivergenceError",
    "History",
    "Trainer",
    "fit",
    "gradient_descent",
    "score",
    "split_validation",
]

publish(__name__, Callback, DivergenceError, History, Trainer)
