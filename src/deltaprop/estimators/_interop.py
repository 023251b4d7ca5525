"""Conversions of a fitted estimator: deltaprop Network, scikit-learn MLP, PyTorch state_dict.

Thin methods over :mod:`deltaprop.interop`; the estimators inherit them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from deltaprop._types import Array
from deltaprop.activations import ACTIVATIONS
from deltaprop.interop import from_sklearn, from_torch_state_dict, to_sklearn, to_torch_state_dict
from deltaprop.network import Network

FITTED = ("coefs_", "intercepts_", "out_activation_", "n_features_in_")


class InteropMixin:
    """to_network, to_sklearn, to_torch_state_dict and the matching class methods (not public)."""

    _adopt_outputs: Callable[[Network, Any], None]
    _export_classes: Callable[[], Any]
    _default_output: str
    _parameter_constraints: dict[str, list[Any]]
    _network: Callable[[], Network]
    get_params: Callable[..., dict[str, Any]]
    _store: Callable[[Network], None]
    _start_bookkeeping: Callable[[], None]

    def to_network(self) -> Network:
        """The fitted :class:`~deltaprop.network.Network` (a copy): ``W[h-1] = coefs_[h-1].T``."""
        check_is_fitted(self, FITTED)
        return self._network()

    def to_sklearn(self) -> Any:
        """A fitted scikit-learn MLP with the same weights, predictions and parameters.

        Built by :func:`deltaprop.interop.to_sklearn`; the parameters scikit-learn has are
        copied, and solver "gd" becomes "sgd" with ``momentum=0`` (set ``batch_size`` to
        the number of samples to continue with full batches).
        """
        mlp = to_sklearn(self.to_network(), classes=self._export_classes())
        shared = set(mlp.get_params()) - {"hidden_layer_sizes", "activation"}
        params = {key: value for key, value in self.get_params().items() if key in shared}
        if params.get("solver") == "gd":  # scikit-learn's nearest: sgd without momentum (batch_size=n)
            params.update(solver="sgd", momentum=0.0)
        mlp.set_params(**params)
        if hasattr(self, "feature_names_in_"):
            mlp.feature_names_in_ = self.feature_names_in_
        return mlp

    def to_torch_state_dict(self, prefix_style: Any = "sequential") -> dict[str, Array]:
        """The weights as a PyTorch ``state_dict`` of Linear layers, W^(h) of shape (out, in)."""
        return to_torch_state_dict(self.to_network(), prefix_style)

    @classmethod
    def from_network(cls, net: Network, *, classes: Any = None, **params: Any) -> Any:
        """A fitted estimator predicting what ``net`` predicts; ``params`` are the other parameters.

        ``hidden_layer_sizes`` and ``activation`` come from the network.  The estimator
        can predict at once, and ``partial_fit`` or ``fit`` with ``warm_start=True``
        continue training from the network's weights.
        """
        if not isinstance(net, Network):
            raise TypeError(
                f"The 'net' parameter must be a deltaprop Network. Got {type(net).__name__} instead."
            )
        clash = sorted({"hidden_layer_sizes", "activation"} & set(params))
        if clash:
            raise TypeError(f"{clash} come from the network; do not pass them to from_network.")
        names = [act.name for act in net.activations]
        builtin = all(ACTIVATIONS.get(act.name) == act for act in net.activations)
        activation: Any = "relu" if not names else names[0]
        if not builtin or len(set(names)) > 1:
            activation = [act.name if ACTIVATIONS.get(act.name) == act else act for act in net.activations]
        factory: Any = cls
        estimator = factory(hidden_layer_sizes=tuple(net.sizes[1:-1]), activation=activation, **params)
        estimator._adopt_outputs(net, classes)
        estimator.n_layers_ = net.D + 1
        estimator.n_outputs_ = net.sizes[-1]
        estimator.n_features_in_ = net.sizes[0]
        estimator._store(net)
        estimator._start_bookkeeping()
        return estimator

    @classmethod
    def from_sklearn(cls, mlp: Any, **params: Any) -> Any:
        """The estimator of a fitted scikit-learn MLP: same parameters, weights, classes and features."""
        net = from_sklearn(mlp)
        sklearn_params = {
            key: value
            for key, value in mlp.get_params().items()
            if key in cls._parameter_constraints and key not in ("hidden_layer_sizes", "activation")
        }
        multilabel = mlp.out_activation_ == "logistic" and mlp.n_outputs_ > 1
        classes = getattr(mlp, "classes_", None) if not multilabel else None
        estimator = cls.from_network(net, classes=classes, **{**sklearn_params, **params})
        if hasattr(mlp, "feature_names_in_"):
            estimator.feature_names_in_ = np.asarray(mlp.feature_names_in_)
        return estimator

    @classmethod
    def from_torch_state_dict(
        cls,
        state_dict: Any,
        *,
        activation: Any = "relu",
        output: str | None = None,
        classes: Any = None,
        prefix_style: Any = "sequential",
        **params: Any,
    ) -> Any:
        """The estimator of PyTorch Linear layers' ``state_dict`` (weights (out, in), as on the slides).

        ``activation`` names the hidden activations, which a state_dict does not
        record; ``output`` defaults to "softmax" for the classifier and "identity"
        for the regressor ("sigmoid" for binary or multi-label classifiers).
        """
        net = from_torch_state_dict(
            state_dict,
            activation=activation,
            output=output or cls._default_output,
            prefix_style=prefix_style,
            dtype=params.get("dtype"),
        )
        return cls.from_network(net, classes=classes, **params)
