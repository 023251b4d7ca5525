"""PyTorch's Linear layers to and from a deltaprop :class:`~deltaprop.network.Network`:
:func:`to_torch_state_dict` and :func:`from_torch_state_dict` convert the parameters
as a state_dict of NumPy arrays (tensors are recognised by their methods, so torch
is never imported), and :func:`to_torch_module` builds the equivalent
``nn.Sequential``, importing torch only then; ``prefix_style`` chooses between the
positions of an ``nn.Sequential`` and named layers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from deltaprop._checks import check_finite
from deltaprop._types import Array
from deltaprop.activations import LEAKY_RELU_SLOPE, Activation, builtin_name
from deltaprop.interop._checks import check_network, unsupported
from deltaprop.losses import OutputLoss, builtin_output_name
from deltaprop.network import Network

if TYPE_CHECKING:
    import torch

PrefixStyle = str | Sequence[str]

_SEQUENTIAL_KEY = re.compile(r"(\d+)\.(weight|bias)")


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
    net = check_network(net)
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
    name = builtin_name(act)
    if name not in modules:
        raise unsupported(h, act, "PyTorch", list(modules))
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
    net = check_network(net)
    nn = torch.nn
    hidden = [_torch_activation(nn, h, act) for h, act in enumerate(net.activations, start=1)]
    final: list[torch.nn.Module] = []
    if include_output:
        output = builtin_output_name(net.output)
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
