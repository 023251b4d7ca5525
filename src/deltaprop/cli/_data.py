"""Data files and trained-model files for the command line.

A model file written by ``deltaprop train`` is an ordinary model file
(:mod:`deltaprop.modelfile`) whose metadata also holds the fitted
:class:`~deltaprop.preprocessing.Preprocessor` (key "preprocessing", with the arrays
"preprocessing.mean" and "preprocessing.scale"), the training :class:`History` (key
"history") and the options it was trained with (key "training").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from numpy.typing import NDArray

from deltaprop.cli._errors import UserError
from deltaprop.modelfile import load_file, save
from deltaprop.network import Network
from deltaprop.preprocessing import METADATA_KEY, Preprocessor
from deltaprop.train import History

_FORMATS = {
    ".csv": "CSV",
    ".csv.gz": "CSV",
    ".csv.bz2": "CSV",
    ".csv.xz": "CSV",
    ".csv.zip": "CSV",
    ".parquet": "Parquet",
    ".pq": "Parquet",
}


# ---------------------------------------------------------------- data files
def table_format(path: Path) -> str:
    """ "CSV" or "Parquet" from the file name's ending, or a UserError."""
    name = path.name.lower()
    for suffix, kind in _FORMATS.items():
        if name.endswith(suffix):
            return kind
    raise UserError(
        f"Cannot tell the format of '{path}' from its name: use a .csv or .parquet file "
        f"(known endings: {', '.join(_FORMATS)})."
    )


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame; every failure is a one-line UserError."""
    kind = table_format(path)
    if not path.exists():
        raise UserError(f"No such file: '{path}'.")
    if path.is_dir():
        raise UserError(f"'{path}' is a directory, not a data file.")
    try:
        if kind == "CSV":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"'{path}' is empty: it has no header and no rows.") from None
    except ImportError as error:
        raise UserError(f"Reading {kind} needs pyarrow: pip install 'deltaprop[cli]' ({error}).") from None
    except Exception as error:  # pandas, pyarrow and the codecs raise many kinds
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"Cannot read '{path}' as {kind}: {first_line}") from None


def no_column(column: str, path: Path, frame: pd.DataFrame) -> UserError:
    """The error for a target column that ``frame``, read from ``path``, lacks."""
    return UserError(
        f"The target column {column!r} is not in '{path}'; its columns are {list(frame.columns)}."
    )


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV or Parquet by the file name's ending, creating its directory."""
    kind = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "CSV":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


# ---------------------------------------------------------- trained models
@dataclass
class TrainedModel:
    """A network with what ``deltaprop train`` stores next to it."""

    network: Network
    preprocessor: Preprocessor | None
    history: History = field(default_factory=History)
    training: dict[str, Any] = field(default_factory=dict)

    def require_preprocessor(self, path: Path) -> Preprocessor:
        """The preprocessing, or a UserError for a model file written otherwise."""
        if self.preprocessor is None:
            raise UserError(
                f"The model file '{path}' holds a network but no preprocessing: it was not written by "
                "'deltaprop train', so its input columns are unknown."
            )
        return self.preprocessor


def save_model(model: TrainedModel, path: Path) -> Path:
    """Write the network, its preprocessing, history and training options to one model file."""
    metadata: dict[str, Any] = {"history": model.history.to_json(), "training": model.training}
    arrays: dict[str, NDArray[Any]] = {}
    if model.preprocessor is not None:
        metadata[METADATA_KEY], arrays = model.preprocessor.to_metadata()
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(model.network, path, metadata=metadata, arrays=arrays)


def _stored_history(stored: Any, path: Path) -> History:
    """The History a model file stores (an empty one if it has none)."""
    if stored is None:
        return History()
    try:
        return History.from_json(stored)
    except ValueError as error:
        raise UserError(f"The model file '{path}': {error}") from None


def load_model(path: Path) -> TrainedModel:
    """Read a model file; the preprocessing and history are None/empty if it has none.

    Raises ModelFileError for files that are not valid model files (another format
    version included) and UserError for a missing file.
    """
    if not path.exists():
        raise UserError(f"No such model file: '{path}'.")
    model = load_file(path)
    metadata = model.metadata if isinstance(model.metadata, dict) else {}
    preprocessor = None
    if METADATA_KEY in metadata:
        try:
            preprocessor = Preprocessor.from_metadata(metadata[METADATA_KEY], model.arrays)
            preprocessor.check_network(model.network.sizes, model.network.output.name)
        except ValueError as error:
            raise UserError(f"The model file '{path}': {error}") from None
    training = metadata.get("training")
    return TrainedModel(
        model.network,
        preprocessor,
        _stored_history(metadata.get("history"), path),
        training if isinstance(training, dict) else {},
    )
