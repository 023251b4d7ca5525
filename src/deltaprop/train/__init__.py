"""Training loops."""

from deltaprop._api import publish
from deltaprop.train._fit import (
    Callback,
    DivergenceError,
    History,
    Trainer,
    fit,
    gradient_descent,
    score,
)

__all__ = [
    "Callback",
    "DivergenceError",
    "History",
    "Trainer",
    "fit",
    "gradient_descent",
    "score",
]

publish(__name__, Callback, DivergenceError, History, Trainer)
