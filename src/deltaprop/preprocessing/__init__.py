"""Tables to arrays: preprocessing learned on the training rows, stored in the model file."""

from deltaprop._api import publish
from deltaprop.preprocessing._columns import (
    MISSING,
    TASKS,
    DataError,
    IdentifierColumnWarning,
    MissingValuesError,
    Scalar,
    UnseenCategoryWarning,
    detect_task,
)
from deltaprop.preprocessing._preprocessor import Preprocessor
from deltaprop.preprocessing._storage import METADATA_KEY, VERSION

__all__ = [
    "METADATA_KEY",
    "MISSING",
    "TASKS",
    "VERSION",
    "DataError",
    "IdentifierColumnWarning",
    "MissingValuesError",
    "Preprocessor",
    "Scalar",
    "UnseenCategoryWarning",
    "detect_task",
]

publish(__name__, DataError, IdentifierColumnWarning, MissingValuesError, Preprocessor, UnseenCategoryWarning)
