"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` to and from a deltaprop
:class:`~deltaprop.network.Network`: :func:`from_sklearn` reads a fitted MLP's
``coefs_`` (the transposed W^(h)) and ``intercepts_``, :func:`to_sklearn` builds a
fitted MLP that predicts what the network predicts, and the two name tables map
deltaprop's hidden activations and output units to scikit-learn's.  scikit-learn
is imported only inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from deltaprop.activations import builtin_name
from deltaprop.interop._checks import check_network, unsupported
from deltaprop.losses import builtin_output_name
from deltaprop.network import Network

if TYPE_CHECKING:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

# deltaprop's name -> scikit-learn's name, for the hidden layers and for the output unit.
SKLEARN_ACTIVATIONS: dict[str, str] = {
    "identity": "identity",
    "sigmoid": "logistic",
    "tanh": "tanh",
    "relu": "relu",
}
SKLEARN_OUTPUTS: dict[str, str] = {"softmax": "softmax", "sigmoid": "logistic", "identity": "identity"}


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
        name = builtin_name(act)
        if name not in SKLEARN_ACTIVATIONS:
            raise unsupported(h, act, "scikit-learn's MLP", list(SKLEARN_ACTIVATIONS))
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

    net = check_network(net)
    activation = _sklearn_hidden_activation(net)
    output = builtin_output_name(net.output)
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
