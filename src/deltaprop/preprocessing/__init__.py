"""Tables to arrays: preprocessing learned on the training rows, stored in the model file."""

from deltaprop._api import publish
from deltaprop.preprocessing._preprocessor import (
    METADATA_KEY,
    MISSING,
    TASKS,
    VERSION,
    MissingValuesError,
    Preprocessor,
    Scalar,
    UnseenCategoryWarning,
    detect_task,
)

__all__ = [
    "METADATA_KEY",
    "MISSING",
    "TASKS",
    "VERSION",
    "MissingValuesError",
    "Preprocessor",
    "Scalar",
    "UnseenCategoryWarning",
    "detect_task",
]

publish(__name__, MissingValuesError, Preprocessor, UnseenCategoryWarning)
