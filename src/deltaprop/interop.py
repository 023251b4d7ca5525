"""Conversions to and from scikit-learn's MLP and PyTorch's Linear layers.

The same parameters W^(h), b^(h) in three layouts:

    deltaprop          W[h-1]               W^(h)    (M_h, M_{h-1})    b[h-1] = b^(h)             (M_h,)
    scikit-learn MLP   coefs_[h-1]          W^(h)^T  (M_{h-1}, M_h)    intercepts_[h-1] = b^(h)   (M_h,)
    PyTorch Linear     "<prefix>.weight"    W^(h)    (M_h, M_{h-1})    "<prefix>.bias" = b^(h)    (M_h,)

scikit-learn multiplies rows by its coefficients, a = z @ coefs_ + b, so it stores
the transposes; PyTorch's ``nn.Linear`` computes a = z @ weight.T + bias and keeps
the slides' orientation, as deltaprop does.

In an ``nn.Sequential`` that alternates Linear layers and activations, the Linear
layer of W^(h) sits at position 2 (h - 1): its keys are ``"0.weight"``,
``"0.bias"``, ``"2.weight"``, ... and the odd positions hold the parameter-free
activations.  That is what ``prefix_style="sequential"`` reads and writes.

Neither scikit-learn nor PyTorch is imported until a function needs it; PyTorch is
not a dependency of deltaprop at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from deltaprop._checks import check_finite
from deltaprop.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, Activation
from deltaprop.losses import OUTPUTS, OutputLoss
from deltaprop.network import Network

if TYPE_CHECKING:
    import torch
    from sklearn.neural_network import MLPClassifier, MLPRegressor

Array = NDArray[np.floating]
PrefixStyle = str | Sequence[str]

# deltaprop's name -> scikit-learn's name, for the hidden layers and for the output unit.
SKLEARN_ACTIVATIONS: dict[str, str] = {
    "identity": "identity",
    "sigmoid": "logistic",
    "tanh": "tanh",
    "relu": "relu",
}
SKLEARN_OUTPUTS: dict[str, str] = {"softmax": "softmax", "sigmoid": "logistic", "identity": "identity"}

_SEQUENTIAL_KEY = re.compile(r"(\d+)\.(weight|bias)")


def _builtin_activation(act: Activation) -> str | None:
    """The name of a built-in activation, or None for a user-defined one."""
    return act.name if ACTIVATIONS.get(act.name) == act else None


def _builtin_output(output: OutputLoss) -> str | None:
    """The name of a built-in output unit, or None for a user-defined one."""
    return output.name if OUTPUTS.get(output.name) == output else None


def _unsupported(h: int, act: Activation, target: str, supported: Sequence[str]) -> ValueError:
    kind = "activation" if _builtin_activation(act) else "user-defined activation"
    return ValueError(
        f"Hidden layer {h} uses the {kind} {act.name!r}, which {target} does not have. "
        f"Use one of {list(supported)} for every hidden layer to convert this network."
    )


def _check_network(net: Any) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"The 'net' parameter must be a deltaprop Network. Got {type(net).__name__} instead.")
    return net


# --------------------------------------------------------------------- scikit-learn
def from_sklearn(
    mlp: MLPClassifier | MLPRegressor,
    *,
    binary_output: str = "sigmoid",
    dtype: DTypeLike | None = None,
) -> Network:
    """The deltaprop :class:`Network` of a fitted scikit-learn MLP.

    ``W[h-1] = mlp.coefs_[h-1].T``, ``b[h-1] = mlp.intercepts_[h-1]``; the hidden
    activation "logistic" becomes "sigmoid", and the output unit follows
    ``mlp.out_activation_``: "softmax" (multiclass), "logistic" -> "sigmoid" (binary
    and multi-label), "identity" (regression).

    Parameters
    ----------
    mlp : MLPClassifier or MLPRegressor
        A fitted estimator.
    binary_output : {"sigmoid", "softmax"}, default "sigmoid"
        For a binary classifier only, which has one logistic output unit giving
        P(classes_[1]): keep that unit ("sigmoid"; ``net.predict(X)[:, 0]`` is
        ``predict_proba(X)[:, 1]``), or turn it into two softmax units with logits
        (-a/2, a/2), so that ``net.predict(X)`` is ``predict_proba(X)`` itself.
    dtype : {"float64", "float32"}, optional
        The network's dtype; by default that of ``mlp.coefs_``.

    Returns
    -------
    Network
        ``net.predict(X)`` equals ``mlp.predict_proba(X)`` for classifiers and
        ``mlp.predict(X)`` (as a column when there is one output) for regressors.

    Raises
    ------
    TypeError
        If ``mlp`` is not an MLPClassifier or MLPRegressor.
    sklearn.exceptions.NotFittedError
        If it is not fitted.
    ValueError
        For the Poisson regressor's "exp" output, which deltaprop does not have.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPRegressor
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> mlp = MLPRegressor(hidden_layer_sizes=(5,), activation="tanh", solver="lbfgs", random_state=0)
    >>> mlp = mlp.fit(X, X[:, 0] ** 2)
    >>> net = from_sklearn(mlp)
    >>> net
    Network(sizes=[1, 5, 1], activation=['tanh'], output='identity', dtype='float64')
    >>> bool(np.allclose(net.predict(X)[:, 0], mlp.predict(X), rtol=0, atol=1e-12))
    True
    """
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(mlp, (MLPClassifier, MLPRegressor)):
        raise TypeError(
            "The 'mlp' parameter must be a scikit-learn MLPClassifier or MLPRegressor. "
            f"Got {type(mlp).__name__} instead."
        )
    check_is_fitted(mlp, "coefs_")
    if binary_output not in ("sigmoid", "softmax"):
        raise ValueError(
            "The 'binary_output' parameter must be one of ['sigmoid', 'softmax']. "
            f"Got {binary_output!r} instead."
        )
    to_deltaprop = {sk: ours for ours, sk in SKLEARN_ACTIVATIONS.items()}
    if mlp.activation not in to_deltaprop:
        raise ValueError(f"The MLP's hidden activation {mlp.activation!r} has no counterpart in deltaprop.")
    outputs = {sk: ours for ours, sk in SKLEARN_OUTPUTS.items()}
    if mlp.out_activation_ not in outputs:
        raise ValueError(
            f"The MLP's output activation {mlp.out_activation_!r} has no counterpart in deltaprop, whose "
            f"output units are {list(SKLEARN_OUTPUTS)}."
        )
    output = outputs[mlp.out_activation_]
    W = [np.asarray(coef).T for coef in mlp.coefs_]
    b = [np.asarray(intercept) for intercept in mlp.intercepts_]
    if binary_output == "softmax" and isinstance(mlp, MLPClassifier) and mlp.n_outputs_ == 1:
        # sigmoid(a) = e^{a/2} / (e^{-a/2} + e^{a/2}) = softmax(-a/2, a/2)_2; halving is exact.
        W[-1] = np.vstack([-W[-1] / 2, W[-1] / 2])
        b[-1] = np.concatenate([-b[-1] / 2, b[-1] / 2])
        output = "softmax"
    return Network.from_weights(W, b, activation=to_deltaprop[mlp.activation], output=output, dtype=dtype)


def _sklearn_hidden_activation(net: Network) -> str:
    """scikit-learn's name for the one activation every hidden layer of ``net`` uses."""
    names = []
    for h, act in enumerate(net.activations, start=1):
        name = _builtin_activation(act)
        if name not in SKLEARN_ACTIVATIONS:
            raise _unsupported(h, act, "scikit-learn's MLP", list(SKLEARN_ACTIVATIONS))
        names.append(name)
    if len(set(names)) > 1:
        raise ValueError(
            f"scikit-learn's MLP uses one activation for all hidden layers, but this network's are {names}."
        )
    return SKLEARN_ACTIVATIONS[names[0]] if names else "relu"


def _check_classes(classes: Any, n_classes: int, default: NDArray[Any]) -> NDArray[Any]:
    if classes is None:
        return default
    labels = np.asarray(classes)
    if labels.ndim != 1 or labels.shape[0] != n_classes:
        raise ValueError(
            f"The 'classes' parameter must list {n_classes} class labels for this network's output; "
            f"got an array of shape {labels.shape}."
        )
    if not np.array_equal(np.unique(labels), labels):
        raise ValueError(
            "The 'classes' parameter must be sorted and without repeats, as scikit-learn keeps classes_; "
            f"got {labels.tolist()}. Order the output units the same way as the sorted labels."
        )
    return labels


def to_sklearn(net: Network, classes: Any = None) -> MLPClassifier | MLPRegressor:
    """A fitted scikit-learn MLP that predicts what ``net`` predicts.

    The estimator is built with ``hidden_layer_sizes = sizes[1:-1]`` and the hidden
    activation, and given the fitted attributes its ``predict`` and ``predict_proba``
    read: ``coefs_`` (the transposed W^(h)), ``intercepts_``, ``n_layers_``,
    ``n_outputs_``, ``out_activation_``, ``n_features_in_``, and for a classifier
    ``classes_`` and the label binarizer.  No training history (``loss_curve_``,
    ``n_iter_``) is made up.

    =========================  ==========================================================
    ``net``'s output           estimator
    =========================  ==========================================================
    identity, K units          MLPRegressor with K outputs
    softmax, K >= 3 units      MLPClassifier, K classes
    softmax, 2 units           binary MLPClassifier with one logistic unit on a2 - a1
    sigmoid, 1 unit            binary MLPClassifier, P(classes[1])
    sigmoid, K >= 2 units      multi-label MLPClassifier, labels 0..K-1
    =========================  ==========================================================

    Parameters
    ----------
    net : Network
        Hidden activations "identity", "sigmoid", "tanh" or "relu", the same in every
        hidden layer (scikit-learn has one ``activation`` for all).
    classes : array-like of shape (n_classes,), optional
        A classifier's labels, sorted as scikit-learn keeps ``classes_``; output unit k
        is ``classes[k]`` (for one sigmoid unit, the probability of ``classes[1]``).
        Default ``0..n_classes-1``.  Not allowed for regressors and multi-label output.

    Returns
    -------
    MLPClassifier or MLPRegressor

    Raises
    ------
    ValueError
        For an activation scikit-learn lacks (naming the layer and the activation),
        hidden layers with different activations, a one-unit softmax, or ``classes``
        of the wrong length, unsorted, or given where there are no classes.

    Examples
    --------
    >>> import numpy as np
    >>> net = Network([4, 8, 3], activation="tanh", output="softmax", random_state=0)
    >>> mlp = to_sklearn(net, classes=["a", "b", "c"])
    >>> type(mlp).__name__, mlp.hidden_layer_sizes, mlp.activation
    ('MLPClassifier', (8,), 'tanh')
    >>> X = np.random.default_rng(0).normal(size=(5, 4))
    >>> bool(np.allclose(mlp.predict_proba(X), net.predict(X), rtol=0, atol=1e-12))
    True
    >>> bool((mlp.predict(X) == np.array(["a", "b", "c"])[net.predict(X).argmax(axis=1)]).all())
    True
    """
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import LabelBinarizer

    net = _check_network(net)
    activation = _sklearn_hidden_activation(net)
    output = _builtin_output(net.output)
    if output is None:
        raise ValueError(
            f"The network's output unit is the user-defined {net.output.name!r}; scikit-learn's MLP has "
            f"{list(SKLEARN_OUTPUTS)}."
        )
    W = [w.copy() for w in net.W]
    b = [v.copy() for v in net.b]
    K = net.sizes[-1]
    hidden_layer_sizes = tuple(net.sizes[1:-1])
    out_activation = SKLEARN_OUTPUTS[output]
    estimator: MLPClassifier | MLPRegressor
    if output == "identity":
        if classes is not None:
            raise ValueError(
                "The 'classes' parameter is for classifiers; this network's identity output regresses."
            )
        estimator = MLPRegressor(hidden_layer_sizes=hidden_layer_sizes, activation=activation)
    else:
        if output == "softmax" and K == 1:
            raise ValueError(
                "A softmax output with one unit always predicts 1; a binary classifier needs two softmax "
                "units or one sigmoid unit."
            )
        if output == "softmax" and K == 2:
            # softmax(a1, a2)_2 = sigmoid(a2 - a1): scikit-learn's binary form, one logistic unit.
            W[-1] = W[-1][1:] - W[-1][:1]
            b[-1] = b[-1][1:] - b[-1][:1]
            out_activation = "logistic"
        binarizer = LabelBinarizer()
        if output == "sigmoid" and K > 1:
            if classes is not None:
                raise ValueError(
                    f"The 'classes' parameter must be None for a multi-label network ({K} sigmoid units): "
                    f"scikit-learn names the labels 0..{K - 1}."
                )
            binarizer.fit(np.eye(K, dtype=int))  # any 0/1 indicator matrix marks multi-label targets
        else:
            n_classes = max(K, 2)
            binarizer.fit(_check_classes(classes, n_classes, np.arange(n_classes)))
        estimator = MLPClassifier(hidden_layer_sizes=hidden_layer_sizes, activation=activation)
        estimator._label_binarizer = binarizer
        estimator.classes_ = binarizer.classes_
    estimator.coefs_ = [np.ascontiguousarray(w.T) for w in W]
    estimator.intercepts_ = b
    estimator.n_layers_ = net.D + 1
    estimator.n_outputs_ = W[-1].shape[0]
    estimator.out_activation_ = out_activation
    estimator.n_features_in_ = net.sizes[0]
    return estimator


# -------------------------------------------------------------------------- PyTorch
def _layer_names(prefix_style: PrefixStyle) -> list[str] | None:
    """The layer names a list ``prefix_style`` gives, or None for "sequential"."""
    if isinstance(prefix_style, str):
        if prefix_style != "sequential":
            raise ValueError(
                "The 'prefix_style' parameter must be 'sequential' or a list of layer names. "
                f"Got {prefix_style!r} instead."
            )
        return None
    if not isinstance(prefix_style, Sequence):
        raise TypeError(
            "The 'prefix_style' parameter must be 'sequential' or a list of layer names. "
            f"Got {type(prefix_style).__name__} instead."
        )
    names = list(prefix_style)
    if not names:
        raise ValueError("The 'prefix_style' parameter must name at least one layer.")
    if not all(isinstance(name, str) and name for name in names) or len(set(names)) != len(names):
        raise ValueError(
            f"The layer names in 'prefix_style' must be distinct non-empty strings. Got {names!r} instead."
        )
    return names


def to_torch_state_dict(net: Network, prefix_style: PrefixStyle = "sequential") -> dict[str, Array]:
    """The parameters as a PyTorch state_dict of Linear layers, in NumPy arrays.

    ``"<prefix>.weight"`` is W^(h) with shape (out_features, in_features) =
    (M_h, M_{h-1}), exactly ``net.W[h-1]``, and ``"<prefix>.bias"`` is b^(h).

    Parameters
    ----------
    net : Network
    prefix_style : "sequential" or list of str, default "sequential"
        "sequential": the prefixes of an ``nn.Sequential`` with an activation between
        Linear layers, so W^(h) is at position 2 (h - 1): "0", "2", "4", ...
        A list of D names (e.g. ``["fc1", "fc2"]``) uses those instead.

    Returns
    -------
    dict of str to ndarray
        Copies of the parameters, layer by layer, weight before bias; load it with
        ``module.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``.

    Examples
    --------
    >>> net = Network([3, 4, 2], activation="relu", random_state=0)
    >>> {key: value.shape for key, value in to_torch_state_dict(net).items()}
    {'0.weight': (4, 3), '0.bias': (4,), '2.weight': (2, 4), '2.bias': (2,)}
    >>> list(to_torch_state_dict(net, ["hidden", "out"]))
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """
    net = _check_network(net)
    prefixes = _layer_names(prefix_style)
    if prefixes is None:
        prefixes = [str(2 * (h - 1)) for h in range(1, net.D + 1)]
    elif len(prefixes) != net.D:
        raise ValueError(
            f"The 'prefix_style' parameter names {len(prefixes)} layers but the network has D = {net.D}."
        )
    state: dict[str, Array] = {}
    for h, prefix in enumerate(prefixes, start=1):
        state[f"{prefix}.weight"] = net.W[h - 1].copy()
        state[f"{prefix}.bias"] = net.b[h - 1].copy()
    return state


def _as_numpy(value: Any, key: str) -> NDArray[Any]:
    """A state_dict entry as a NumPy array; tensors are recognised by their methods."""
    if all(hasattr(value, method) for method in ("detach", "cpu", "numpy")):
        tensor = value.detach().cpu()
        try:
            value = tensor.numpy()
        except TypeError:  # bfloat16 and other dtypes NumPy lacks
            value = tensor.double().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"state_dict[{key!r}] must hold numbers; got an array of dtype {arr.dtype}.")
    check_finite(arr, f"state_dict[{key!r}]")
    return arr


def _sequential_prefixes(keys: Sequence[str]) -> list[str]:
    indices = set()
    for key in keys:
        match = _SEQUENTIAL_KEY.fullmatch(key)
        if match is None:
            raise ValueError(
                f"The state_dict key {key!r} is not of the form '<index>.weight' or '<index>.bias' of an "
                "nn.Sequential of Linear layers; for named layers pass prefix_style=[names in order]."
            )
        indices.add(int(match.group(1)))
    return [str(index) for index in sorted(indices)]


def from_torch_state_dict(
    state_dict: Mapping[str, Any],
    activation: str | Activation | Sequence[str | Activation] = "relu",
    output: str | OutputLoss = "softmax",
    *,
    prefix_style: PrefixStyle = "sequential",
    dtype: DTypeLike | None = None,
) -> Network:
    """A :class:`Network` from the state_dict of PyTorch Linear layers.

    Parameters
    ----------
    state_dict : mapping of str to array or tensor
        ``"<prefix>.weight"`` of shape (M_h, M_{h-1}) and ``"<prefix>.bias"`` of shape
        (M_h,) for each layer.  Torch tensors are converted with
        ``.detach().cpu().numpy()``; torch itself is never imported.
    activation : str, Activation or sequence of them, default "relu"
        The hidden activations (a state_dict does not record them).
    output : {"softmax", "identity", "sigmoid"}, default "softmax"
        The output unit (PyTorch models usually leave it to the loss).
    prefix_style : "sequential" or list of str, default "sequential"
        "sequential": every key is "<index>.weight" or "<index>.bias" and the layers
        are taken in increasing index; a list names the layers' prefixes in order.
    dtype : {"float64", "float32"}, optional
        By default that of the first weight (float64 if it is neither).

    Raises
    ------
    ValueError
        Naming the key: a missing weight or bias, an unexpected key, a weight that
        is not 2-D, a bias that does not match its weight, or a layer whose
        in_features differ from the previous layer's out_features.

    Examples
    --------
    >>> import numpy as np
    >>> sd = {"0.weight": np.ones((4, 3)), "0.bias": np.zeros(4),
    ...       "2.weight": np.ones((2, 4)), "2.bias": np.zeros(2)}
    >>> from_torch_state_dict(sd, activation="tanh", output="identity")
    Network(sizes=[3, 4, 2], activation=['tanh'], output='identity', dtype='float64')
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"The 'state_dict' parameter must be a mapping of str to arrays. Got {type(state_dict).__name__}."
        )
    keys = list(state_dict)
    if not all(isinstance(key, str) for key in keys):
        raise TypeError("The keys of 'state_dict' must be strings such as '0.weight'.")
    prefixes = _layer_names(prefix_style)
    if prefixes is None:
        prefixes = _sequential_prefixes(keys)
    if not prefixes:
        raise ValueError("The state_dict is empty: it holds no Linear layer.")
    expected = [f"{prefix}.{name}" for prefix in prefixes for name in ("weight", "bias")]
    unexpected = [key for key in keys if key not in expected]
    if unexpected:
        raise ValueError(
            f"The state_dict has keys {unexpected} that belong to no Linear layer {prefixes}; "
            "deltaprop networks hold only weights and biases."
        )
    W: list[NDArray[Any]] = []
    b: list[NDArray[Any]] = []
    for h, prefix in enumerate(prefixes, start=1):
        weight_key, bias_key = f"{prefix}.weight", f"{prefix}.bias"
        for key in (weight_key, bias_key):
            if key not in state_dict:
                raise ValueError(f"The state_dict has no key {key!r} (layer {h}); every layer needs both.")
        w, v = _as_numpy(state_dict[weight_key], weight_key), _as_numpy(state_dict[bias_key], bias_key)
        if w.ndim != 2:
            raise ValueError(
                f"{weight_key!r} (W^({h})) must be 2-D (out_features, in_features); got shape {w.shape}."
            )
        if v.shape != (w.shape[0],):
            raise ValueError(
                f"{bias_key!r} (b^({h})) must have shape ({w.shape[0]},) to match {weight_key!r} of shape "
                f"{w.shape}; got {v.shape}."
            )
        if W and w.shape[1] != W[-1].shape[0]:
            raise ValueError(
                f"{weight_key!r} has in_features {w.shape[1]} but the layer before it "
                f"({prefixes[h - 2]!r}) has out_features {W[-1].shape[0]}; consecutive layers must chain."
            )
        W.append(w)
        b.append(v)
    return Network.from_weights(W, b, activation=activation, output=output, dtype=dtype)


def _torch_activation(nn: Any, h: int, act: Activation) -> Any:
    """The torch module computing the built-in activation ``act`` of hidden layer h."""
    modules = {
        "identity": nn.Identity,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(LEAKY_RELU_SLOPE),
        # Softplus turns linear above its threshold; at 40, log(1 + e^{-a}) is below the
        # rounding of a, so it matches log(1 + e^a) in float64 (the default 20 does not).
        "softplus": lambda: nn.Softplus(beta=1.0, threshold=40.0),
        "gelu": lambda: nn.GELU(approximate="tanh"),
    }
    name = _builtin_activation(act)
    if name not in modules:
        raise _unsupported(h, act, "PyTorch", list(modules))
    return modules[name]()


def to_torch_module(net: Network, *, include_output: bool = True) -> torch.nn.Sequential:
    """The equivalent ``torch.nn.Sequential``: Linear layers with the activations between.

    Linear layer h sits at position 2 (h - 1) (see :func:`to_torch_state_dict`) and
    holds copies of W^(h), b^(h) in the network's dtype; the output unit
    (``nn.Softmax(dim=-1)`` or ``nn.Sigmoid()``, nothing for identity) comes last,
    so the module computes ``net.predict``.

    Parameters
    ----------
    net : Network
        Any built-in activations (gelu is ``nn.GELU(approximate="tanh")``).
    include_output : bool, default True
        False leaves the output unit out, so the module returns the logits a^(D),
        which is what ``nn.CrossEntropyLoss`` and ``nn.BCEWithLogitsLoss`` expect.

    Raises
    ------
    ImportError
        If PyTorch is not installed.
    ValueError
        For a user-defined activation or output unit, naming the layer.

    Examples
    --------
    >>> import numpy as np, torch                                        # doctest: +SKIP
    >>> net = Network([3, 5, 2], activation="tanh", random_state=0)      # doctest: +SKIP
    >>> module = to_torch_module(net)                                    # doctest: +SKIP
    >>> module                                                           # doctest: +SKIP
    Sequential(
      (0): Linear(in_features=3, out_features=5, bias=True)
      (1): Tanh()
      (2): Linear(in_features=5, out_features=2, bias=True)
      (3): Softmax(dim=-1)
    )
    >>> X = np.random.default_rng(0).normal(size=(4, 3))                 # doctest: +SKIP
    >>> np.allclose(module(torch.from_numpy(X)).detach().numpy(), net.predict(X))  # doctest: +SKIP
    True
    """
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "to_torch_module needs PyTorch, which deltaprop does not install: run `pip install torch`. "
            "to_torch_state_dict gives the same parameters as NumPy arrays without it."
        ) from exc
    net = _check_network(net)
    nn = torch.nn
    hidden = [_torch_activation(nn, h, act) for h, act in enumerate(net.activations, start=1)]
    final: list[torch.nn.Module] = []
    if include_output:
        output = _builtin_output(net.output)
        if output is None:
            raise ValueError(f"The output layer uses the user-defined output unit {net.output.name!r}.")
        if output == "softmax":
            final.append(nn.Softmax(dim=-1))
        elif output == "sigmoid":
            final.append(nn.Sigmoid())
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    layers: list[torch.nn.Module] = []
    sizes = net.sizes
    for h in range(1, net.D + 1):
        # skip_init: no initial weights are drawn from torch's global generator.
        layers.append(nn.utils.skip_init(nn.Linear, sizes[h - 1], sizes[h], dtype=dtype))
        if h < net.D:
            layers.append(hidden[h - 1])
    module = nn.Sequential(*layers, *final)
    module.load_state_dict({key: torch.from_numpy(value) for key, value in to_torch_state_dict(net).items()})
    return module
