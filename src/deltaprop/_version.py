"""The version of deltaprop: one home, read by pyproject.toml, model files and the CLI."""

__version__ = "0.1.0"
