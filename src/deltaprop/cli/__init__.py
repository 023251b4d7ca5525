"""The ``deltaprop`` command line; ``deltaprop.cli:main`` is the console script."""

from deltaprop.cli._app import app, main

__all__ = ["app", "main"]
