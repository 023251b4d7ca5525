"""The playground's settings: one record, its limits, and its one text form (the URL hash).

Every setting the page can change is a field of :class:`Settings`, with its limits
in :data:`FIELDS`.  The page never builds a network itself: it sends the hash (or
single changes), the server checks them here and answers with the canonical
settings and hash, so there is one codec and one set of limits, in Python.

The hash is a query string of short keys, e.g.
``#data=xor&noise=10&train=50&points=400&seed=1&features=x1,x2&hidden=4,2&act=tanh``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, quote

from deltaprop.activations import ACTIVATIONS

CLASSIFICATION = ("circle", "xor", "gauss", "spiral", "moons")
REGRESSION = ("plane", "bumps")
DATASETS = CLASSIFICATION + REGRESSION
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")
ACTIVATION_NAMES = tuple(ACTIVATIONS)
OPTIMIZERS = ("gd", "sgd", "momentum", "nesterov", "adam", "adamw")
REGULARIZATIONS = ("none", "l1", "l2")

MAX_LAYERS = 6  # hidden layers
MAX_UNITS = 8  # units per hidden layer
MAX_POINTS = 1000  # data points, training and test together
MAX_CLASSES = 6
MAX_HASH = 1000  # characters of a URL hash the server reads
MAX_SEED = 2**31 - 1


class SettingsError(ValueError):
    """A setting from the page (or a URL hash) that the playground refuses; the message says why."""


@dataclass(frozen=True)
class Field:
    """The limits of one setting and its key in the URL hash."""

    key: str
    kind: str  # "choice", "int", "float", "bool", "subset", "layers"
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 0.0


@dataclass(frozen=True)
class Settings:
    """Everything that decides a playground run: data, network, training and view.

    Two runs with equal settings give the same data, the same initial weights and the
    same batches: a link with the hash reproduces the run.
    """

    dataset: str = "circle"
    classes: int = 2
    noise: int = 0
    train_percent: int = 50
    points: int = 400
    seed: int = 1
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    optimizer: str = "gd"
    learning_rate: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    batch_size: int = 10
    show_test: bool = False
    discretize: bool = False

    @property
    def task(self) -> str:
        """ "classification" (softmax + cross-entropy) or "regression" (identity + squared error)."""
        return "regression" if self.dataset in REGRESSION else "classification"

    @property
    def n_classes(self) -> int:
        """K, the number of classes: ``classes`` for gauss and spiral, 2 for the others."""
        return self.classes if self.dataset in ("gauss", "spiral") else 2

    @property
    def outputs(self) -> int:
        """The width of the output layer: K classes, or 1 for regression."""
        return 1 if self.task == "regression" else self.n_classes

    @property
    def sizes(self) -> list[int]:
        """The network's layer widths [d, M_1, ..., K]."""
        return [len(self.features), *self.hidden, self.outputs]


FIELDS: dict[str, Field] = {
    "dataset": Field("data", "choice", DATASETS),
    "classes": Field("classes", "int", low=2, high=MAX_CLASSES),
    "noise": Field("noise", "int", low=0, high=50),
    "train_percent": Field("train", "int", low=10, high=90),
    "points": Field("points", "int", low=20, high=MAX_POINTS),
    "seed": Field("seed", "int", low=0, high=MAX_SEED),
    "features": Field("features", "subset", FEATURES),
    "hidden": Field("hidden", "layers", low=1, high=MAX_UNITS),
    "activation": Field("act", "choice", ACTIVATION_NAMES),
    "optimizer": Field("opt", "choice", OPTIMIZERS),
    "learning_rate": Field("lr", "float", low=1e-6, high=10.0),
    "regularization": Field("reg", "choice", REGULARIZATIONS),
    "reg_rate": Field("rate", "float", low=0.0, high=10.0),
    "batch_size": Field("batch", "int", low=1, high=MAX_POINTS),
    "show_test": Field("test", "bool"),
    "discretize": Field("discrete", "bool"),
}
BY_KEY = {spec.key: name for name, spec in FIELDS.items()}
# Settings that leave the data and the initial network alone: the run goes on with them.
TRAINING_FIELDS = frozenset({"optimizer", "learning_rate", "regularization", "reg_rate", "batch_size"})
VIEW_FIELDS = frozenset({"show_test", "discretize"})


def _check(name: str, value: Any) -> Any:
    """``value`` as the type and range of the setting ``name``, or a SettingsError saying why."""
    spec = FIELDS[name]
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            raise SettingsError(f"'{name}' must be one of {list(spec.choices)}; got {_show(value)}.")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise SettingsError(f"'{name}' must be true or false; got {_show(value)}.")
        return value
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not spec.low <= value <= spec.high:
            raise SettingsError(
                f"'{name}' must be a whole number from {spec.low:g} to {spec.high:g}; got {_show(value)}."
            )
        return value
    if spec.kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not spec.low <= value <= spec.high:
            raise SettingsError(
                f"'{name}' must be a number from {spec.low:g} to {spec.high:g}; got {_show(value)}."
            )
        return float(value)
    if spec.kind == "subset":
        if not isinstance(value, (list, tuple)) or not value or len(value) > len(spec.choices):
            raise SettingsError(
                f"'{name}' must be a non-empty list drawn from {list(spec.choices)}; got {_show(value)}."
            )
        chosen = set()
        for item in value:
            if not isinstance(item, str) or item not in spec.choices:
                raise SettingsError(f"'{name}' must list names from {list(spec.choices)}; got {_show(item)}.")
            chosen.add(item)
        return tuple(c for c in spec.choices if c in chosen)  # canonical order
    # "layers": up to MAX_LAYERS widths of 1..MAX_UNITS; an empty list is logistic regression
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LAYERS:
        raise SettingsError(
            f"'{name}' must be a list of at most {MAX_LAYERS} layer widths; got {_show(value)}."
        )
    for width in value:
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_UNITS:
            raise SettingsError(f"Every hidden layer has 1 to {MAX_UNITS} units; got {_show(width)}.")
    return tuple(value)


def _show(value: Any) -> str:
    """A short, safe rendering of a value the page sent, for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def updated(settings: Settings, changes: Any) -> Settings:
    """``settings`` with ``changes`` (a dict of field name to value) checked and applied."""
    if not isinstance(changes, dict) or not changes:
        raise SettingsError("'changes' must be an object of setting names to values.")
    unknown = sorted(str(k)[:40] for k in changes if k not in FIELDS)
    if unknown:
        raise SettingsError(f"Unknown settings {unknown}; the settings are {sorted(FIELDS)}.")
    return replace(settings, **{name: _check(name, value) for name, value in changes.items()})


def _text(name: str, value: Any) -> str:
    kind = FIELDS[name].kind
    if kind == "bool":
        return "1" if value else "0"
    if kind in ("subset", "layers"):
        return ",".join(str(v) for v in value)
    if kind == "float":
        return repr(float(value))
    return str(value)


def _parse(name: str, text: str) -> Any:
    kind = FIELDS[name].kind
    try:
        if kind == "bool":
            if text not in ("0", "1"):
                raise ValueError
            return text == "1"
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "subset":
            return [part for part in text.split(",") if part]
        if kind == "layers":
            return [int(part) for part in text.split(",") if part]
    except ValueError:
        raise SettingsError(
            f"'{FIELDS[name].key}={_show(text)}' in the link is not valid for '{name}'."
        ) from None
    return text


def to_hash(settings: Settings) -> str:
    """The URL hash (without '#') of ``settings``: every field, in a fixed order.

    >>> to_hash(Settings())[:30]
    'data=circle&classes=2&noise=0&'
    """
    values = asdict(settings)
    return "&".join(f"{FIELDS[name].key}={quote(_text(name, values[name]), safe=',^')}" for name in FIELDS)


def from_hash(text: Any) -> Settings:
    """The settings a URL hash describes; missing keys keep their defaults.

    Raises :class:`SettingsError` naming the first key that is unknown, repeated or
    out of range.

    >>> from_hash("#data=xor&hidden=8,8&lr=0.1").hidden
    (8, 8)
    >>> from_hash(to_hash(Settings(dataset="spiral", classes=3))) == Settings(dataset="spiral", classes=3)
    True
    """
    if not isinstance(text, str):
        raise SettingsError(f"A link's hash must be text; got {type(text).__name__}.")
    if len(text) > MAX_HASH:
        raise SettingsError(f"The link's hash is {len(text)} characters long; at most {MAX_HASH} are read.")
    text = text.removeprefix("#")
    changes: dict[str, Any] = {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=len(FIELDS))
    except ValueError:
        raise SettingsError("The link's hash is not of the form key=value&key=value...") from None
    for key, value in pairs:
        if key not in BY_KEY:
            raise SettingsError(f"The link has an unknown key {_show(key)}; the keys are {sorted(BY_KEY)}.")
        name = BY_KEY[key]
        if name in changes:
            raise SettingsError(f"The link gives '{key}' twice.")
        changes[name] = _parse(name, value)
    return updated(Settings(), changes) if changes else Settings()


def settings_dict(settings: Settings) -> dict[str, Any]:
    """The settings as JSON data for the page (tuples as lists)."""
    return {name: list(v) if isinstance(v, tuple) else v for name, v in asdict(settings).items()}
