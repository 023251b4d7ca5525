"""How a subpackage's ``__init__`` declares where its public classes live."""

from __future__ import annotations

from typing import Any


def publish(module: str, *objects: Any) -> None:
    """Name ``module`` (the public path) as the home of each class in ``objects``.

    Pickles, skops files, reprs and tracebacks then say ``deltaprop.train.History``,
    not the private module the class is written in, so files saved by earlier versions
    still load and the documented paths are the ones users see.
    """
    for obj in objects:
        obj.__module__ = module
