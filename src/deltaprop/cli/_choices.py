"""The closed sets of values that options of the ``deltaprop`` command take.

typer shows each enum's values in ``--help`` and rejects anything else with a message
that lists them; the code behind the commands uses the same values.
"""

from __future__ import annotations

from enum import Enum


class Task(str, Enum):
    classification = "classification"
    regression = "regression"


class Output(str, Enum):
    softmax = "softmax"
    sigmoid = "sigmoid"
    identity = "identity"


class Solver(str, Enum):
    gd = "gd"
    sgd = "sgd"
    momentum = "momentum"
    nesterov = "nesterov"
    adam = "adam"
    adamw = "adamw"


class Schedule(str, Enum):
    constant = "constant"
    invscaling = "invscaling"
    step = "step"
    cosine = "cosine"
    plateau = "plateau"


class DType(str, Enum):
    float32 = "float32"
    float64 = "float64"


class Missing(str, Enum):
    refuse = "refuse"
    impute = "impute"


class Init(str, Enum):
    glorot = "glorot"
    he = "he"
    sklearn = "sklearn"


class TraceFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    latex = "latex"


class PlotKind(str, Enum):
    activations = "activations"
    loss = "loss"
    gradient_norms = "gradient-norms"
    network = "network"
    decision_regions = "decision-regions"
    neuron_maps = "neuron-maps"
    confusion_matrix = "confusion-matrix"
    predicted_vs_true = "predicted-vs-true"
