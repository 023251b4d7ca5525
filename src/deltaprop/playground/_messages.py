"""The messages a page may send, checked before anything acts on them.

A message is one JSON object of at most :data:`MAX_MESSAGE` characters with a
``type`` and exactly the fields that type takes, each of the right type and range.
Anything else (not JSON, too long, too deep, an unknown type or field, a bool where a
number belongs, NaN, a huge number) is a :class:`MessageError` whose text the page
shows; the server never acts on it.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

from deltaprop.playground._state import MAX_HASH, MAX_LAYERS, MAX_POINTS, MAX_UNITS

MAX_MESSAGE = 8_000  # characters of one message
MAX_WEIGHT = 100.0  # |value| of a weight or bias typed into the page

# type -> {field: kind}; kinds: "text", "changes", "layer", "unit", "value", "set", "index"
SCHEMAS: dict[str, dict[str, str]] = {
    "hello": {"hash": "text"},
    "set": {"changes": "changes"},
    "play": {},
    "pause": {},
    "step": {},
    "reset": {},
    "regenerate": {},
    "export": {},
    "set_weight": {"layer": "layer", "to": "unit", "from": "unit", "value": "value"},
    "set_bias": {"layer": "layer", "unit": "unit", "value": "value"},
    "inspect": {"set": "set", "index": "index"},
}


class MessageError(ValueError):
    """A message from the page that the server refuses; the text says why."""


class Message(NamedTuple):
    """A checked message: its type and its fields."""

    type: str
    fields: dict[str, Any]


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MessageError(f"'{name}' must be a whole number from {low} to {high}.")
    return value


def _field(kind: str, name: str, value: Any) -> Any:
    if kind == "text":
        if not isinstance(value, str) or len(value) > MAX_HASH:
            raise MessageError(f"'{name}' must be text of at most {MAX_HASH} characters.")
        return value
    if kind == "changes":
        # Each value is checked against its setting's limits by Settings.updated; here only
        # the shape: an object of at most a few short, flat values.
        if not isinstance(value, dict) or not 1 <= len(value) <= 20:
            raise MessageError("'changes' must be an object of 1 to 20 settings.")
        for v in value.values():
            flat = isinstance(v, (str, bool, int, float)) or (
                isinstance(v, list) and len(v) <= 10 and all(isinstance(x, (str, int)) for x in v)
            )
            if not flat:
                raise MessageError(
                    "Each setting in 'changes' must be a number, text, true/false or a short list."
                )
        return value
    if kind == "layer":
        return _whole(value, name, 1, MAX_LAYERS + 1)
    if kind == "unit":
        return _whole(value, name, 0, MAX_UNITS - 1)
    if kind == "index":
        return _whole(value, name, 0, MAX_POINTS - 1)
    if kind == "set":
        if value not in ("train", "test"):
            raise MessageError(f'\'{name}\' must be "train" or "test".')
        return value
    # "value": a finite weight or bias
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or abs(value) > MAX_WEIGHT:
        raise MessageError(f"'{name}' must be a number from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}.")
    return float(value)


def parse_message(text: Any) -> Message:
    """The page's message ``text`` checked, or a :class:`MessageError` saying what is wrong.

    >>> parse_message('{"type": "set_bias", "layer": 1, "unit": 0, "value": 0.5}')
    Message(type='set_bias', fields={'layer': 1, 'unit': 0, 'value': 0.5})
    >>> parse_message('{"type": "set_bias", "layer": true, "unit": 0, "value": 0.5}')
    Traceback (most recent call last):
    ...
    deltaprop.playground.MessageError: 'layer' must be a whole number from 1 to 7.
    """
    if not isinstance(text, str):
        raise MessageError("Messages must be JSON text.")
    if len(text) > MAX_MESSAGE:
        raise MessageError(f"The message is {len(text)} characters long; at most {MAX_MESSAGE} are accepted.")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise MessageError("The message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise MessageError("A message must be a JSON object with a 'type'.")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in SCHEMAS:
        raise MessageError(f"Unknown message type; the types are {sorted(SCHEMAS)}.")
    schema = SCHEMAS[kind]
    given = set(data) - {"type"}
    if given != set(schema):
        missing, extra = sorted(set(schema) - given), sorted(str(k)[:30] for k in given - set(schema))
        raise MessageError(
            f"A '{kind}' message takes the fields {sorted(schema)}; missing {missing}, unknown {extra}."
        )
    return Message(kind, {name: _field(schema[name], name, data[name]) for name in schema})


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number the playground accepts")
