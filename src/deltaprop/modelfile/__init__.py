"""Model files: a network saved safely, atomically and with a version."""

from deltaprop._api import publish
from deltaprop.modelfile._atomic import atomic_write
from deltaprop.modelfile._format import EXTRA_PREFIX, ModelFile, load, load_file, save
from deltaprop.modelfile._read import FORMAT, FORMAT_VERSION, METADATA, ModelFileError

__all__ = [
    "EXTRA_PREFIX",
    "FORMAT",
    "FORMAT_VERSION",
    "METADATA",
    "ModelFile",
    "ModelFileError",
    "atomic_write",
    "load",
    "load_file",
    "save",
]

publish(__name__, ModelFile, ModelFileError)
