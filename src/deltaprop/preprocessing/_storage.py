"""A stored preprocessing read back from a model file: its version, its fields and their consistency.

:meth:`~deltaprop.preprocessing.Preprocessor.to_metadata` stores a preprocessing as
JSON metadata (under the key :data:`METADATA_KEY` of a model file's metadata) and the
float64 arrays "preprocessing.mean" and "preprocessing.scale".  :func:`_stored_fields`
turns them back into the Preprocessor's fields, and refuses another version, missing
or ill-typed entries, and fields that disagree with each other, with a ValueError
that says which.  Re-exported by :mod:`deltaprop.preprocessing`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from deltaprop.preprocessing._columns import MISSING, TASKS

METADATA_KEY = "preprocessing"
VERSION = 1


def _distinct(values: list[Any]) -> bool:
    return len({(type(v).__name__, v) for v in values}) == len(values)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and not (isinstance(value, float) and value != value)


def _check_values(fields: dict[str, Any]) -> None:
    """Refuse stored values that no fitted preprocessing has: repeated names or classes, bad statistics.

    The model file's digest proves the file unchanged since it was written, not that what
    was written makes sense: a file edited by hand (or by a program) and re-digested must
    not give silently wrong labels.
    """
    problems = []
    classes = fields["classes"]
    if classes is not None and (
        len(classes) < 2 or not all(_is_scalar(c) for c in classes) or not _distinct(classes)
    ):
        problems.append(f"its classes {classes[:5]!r} are not two or more distinct labels")
    if not _distinct(fields["columns"]) or fields["target"] in fields["columns"]:
        problems.append("its columns repeat a name or include the target")
    for column, cats in fields["categories"].items():
        if not cats or not all(_is_scalar(c) for c in cats) or not _distinct(cats):
            problems.append(f"the categories of {column!r} are not distinct labels")
    if not set(fields["fill"]) <= set(fields["columns"]):
        problems.append("it fills columns it does not have")
    mean, scale = fields["mean"], fields["scale"]
    if mean.ndim != 1 or not np.isfinite(mean).all() or not (np.isfinite(scale).all() and (scale > 0).all()):
        problems.append("its means or scales are not finite (scales positive)")
    if fields["task"] == "regression":
        m, s = fields["target_mean"], fields["target_scale"]
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (m, s))
        if not (numbers and math.isfinite(m) and math.isfinite(s) and s > 0):
            problems.append(f"its target mean {m!r} and scale {s!r} are not finite numbers (scale positive)")
    if problems:
        raise ValueError(f"The stored preprocessing is inconsistent: {'; '.join(problems)}.")


def check_network(fields: Any, sizes: list[int], output: str) -> None:
    """Refuse a preprocessing that does not fit the network it is stored with.

    The inputs it makes must be the network's M_0, its classes the output units
    (softmax: K; sigmoid: one unit for two classes), its task the output unit's.
    """
    n_features = len(fields.feature_names)
    K = sizes[-1]
    problems = []
    if n_features != sizes[0]:
        problems.append(f"it makes {n_features} inputs, but the network takes {sizes[0]}")
    if fields.task == "regression":
        if output != "identity" or K != 1:
            problems.append(f"its task is regression, but the network has a {output} output of {K} unit(s)")
    elif output == "identity":
        problems.append("its task is classification, but the network has an identity output")
    elif output == "sigmoid" and not (K == 1 and len(fields.classes) == 2):
        problems.append(f"a sigmoid output of {K} unit(s) cannot give its {len(fields.classes)} classes")
    elif output == "softmax" and K != len(fields.classes):
        problems.append(f"it has {len(fields.classes)} classes, but the network has {K} output units")
    if problems:
        raise ValueError(f"The stored preprocessing does not fit the network: {'; '.join(problems)}.")


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
    _check_values(fields)
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
