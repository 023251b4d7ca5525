"""scikit-learn estimators on deltaprop's engine: drop-in ``MLPClassifier`` and ``MLPRegressor``."""

from deltaprop._api import publish
from deltaprop.estimators._mlp import (
    MLPClassifier,
    MLPRegressor,
)

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
]

publish(__name__, MLPClassifier, MLPRegressor)
