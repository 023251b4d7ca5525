"""A stored preprocessing read back from a model file: its version, its fields and their consistency.

:meth:`~deltaprop.preprocessing.Preprocessor.to_metadata` stores a preprocessing as
JSON metadata (under the key :data:`METADATA_KEY` of a model file's metadata) and the
float64 arrays "preprocessing.mean" and "preprocessing.scale".  :func:`_stored_fields`
turns them back into the Preprocessor's fields, and refuses another version, missing
or ill-typed entries, and fields that disagree with each other, with a ValueError
that says which.  Re-exported by :mod:`deltaprop.preprocessing`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.preprocessing._columns import MISSING, TASKS

METADATA_KEY = "preprocessing"
VERSION = 1


def _stored_fields(metadata: Any, arrays: dict[str, Any]) -> dict[str, Any]:
    """The Preprocessor's fields from the metadata and arrays ``to_metadata`` stored, checked."""
    if not isinstance(metadata, dict) or metadata.get("version") != VERSION:
        version = metadata.get("version") if isinstance(metadata, dict) else None
        raise ValueError(f"The stored preprocessing has version {version!r}; this deltaprop reads {VERSION}.")
    try:
        fields = {
            "target": str(metadata["target"]),
            "task": str(metadata["task"]),
            "missing": str(metadata["missing"]),
            "columns": [str(c) for c in metadata["columns"]],
            "numeric": [str(c) for c in metadata["numeric"]],
            "mean": np.asarray(arrays[f"{METADATA_KEY}.mean"], dtype=np.float64),
            "scale": np.asarray(arrays[f"{METADATA_KEY}.scale"], dtype=np.float64),
            "categories": {str(c): list(v) for c, v in metadata["categories"].items()},
            "fill": dict(metadata["fill"]),
            "classes": None if metadata["classes"] is None else list(metadata["classes"]),
            "target_mean": metadata["target_mean"],
            "target_scale": metadata["target_scale"],
        }
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"The stored preprocessing is incomplete: {error!r} is missing or invalid."
        ) from None
    columns, numeric = fields["columns"], fields["numeric"]
    consistent = (
        fields["task"] in TASKS
        and fields["missing"] in MISSING
        and set(numeric) <= set(columns)
        and set(fields["categories"]) == set(columns) - set(numeric)
        and fields["mean"].shape == fields["scale"].shape == (len(numeric),)
        and (fields["classes"] is None) == (fields["task"] == "regression")
    )
    if not consistent:
        raise ValueError(
            "The stored preprocessing is inconsistent: its columns, statistics or task disagree."
        )
    return fields
