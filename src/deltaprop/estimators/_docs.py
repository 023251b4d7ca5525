"""The parameter and attribute documentation the two estimators share."""

from __future__ import annotations

PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default (100,)
        The widths M_1, ..., M_{D-1} of the hidden layers; () gives no hidden layer.
    activation : str, Activation or list of them, default "relu"
        The hidden layers' sigma: scikit-learn's "identity", "logistic", "tanh",
        "relu", and every activation of :mod:`deltaprop.activations` ("sigmoid" =
        "logistic", "leaky_relu", "softplus", "gelu"), a user-defined
        :class:`~deltaprop.activations.Activation`, or a list with one per hidden layer.
    solver : {"adam", "sgd", "gd", "lbfgs"}, default "adam"
        "adam" and "sgd" (momentum) on mini-batches as scikit-learn; "gd" the
        lecture's full-batch gradient descent (``batch_size``, ``momentum`` and
        ``shuffle`` unused); "lbfgs" scipy's L-BFGS-B on deltaprop's exact gradient.
    alpha : float, default 1e-4
        scikit-learn's L2 strength: 0.5 alpha ||w||^2 / |B| is added to the loss of a
        batch B, i.e. the lecture's lambda = alpha / |B| (alpha / n for "gd" and
        "lbfgs"; alpha / sum of the weights with ``sample_weight``).
    batch_size : int or "auto", default "auto"
        Mini-batch size for "sgd" and "adam"; "auto" is min(200, n_samples).
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        The schedule of "sgd" and "gd": eta = learning_rate_init; learning_rate_init /
        (t + 1)^power_t with t the samples seen, updated every epoch; or divided by
        5 whenever the stopping rule below fires, until it is below 1e-6.
    learning_rate_init : float, default 1e-3
        The step size eta of "sgd", "gd" and "adam".
    power_t : float, default 0.5
        The exponent of "invscaling".
    max_iter : int, default 200
        Epochs for "sgd", "adam" and "gd" (one step per epoch for "gd"), iterations
        for "lbfgs".
    shuffle : bool, default True
        Reshuffle the samples every epoch ("sgd", "adam").
    random_state : None, int or RandomState, default None
        Seeds the initial weights, the validation split and the shuffling.
    tol : float, default 1e-4
        Training stops when the training loss has not fallen by tol (the validation
        score not risen by tol, with ``early_stopping``) for more than
        ``n_iter_no_change`` epochs; for "lbfgs" the gradient tolerance gtol.
    verbose : bool, default False
        Show deltaprop's progress bar (epoch, loss, validation loss).
    warm_start : bool, default False
        ``fit`` continues from the fitted weights, or from ``coefs_`` and
        ``intercepts_`` set by hand on an unfitted estimator.
    momentum : float in [0, 1), default 0.9
        Momentum of "sgd".
    nesterovs_momentum : bool, default True
        Nesterov's form of the momentum of "sgd".
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data (stratified for
        single-label classification) and stop when the validation score stops
        improving; the best epoch's weights are kept ("sgd", "adam", "gd").
    validation_fraction : float in (0, 1), default 0.1
        The share held out with ``early_stopping``.
    beta_1, beta_2 : float in [0, 1), default 0.9, 0.999
        Adam's moment decay rates.
    epsilon : float, default 1e-8
        Adam's epsilon.
    n_iter_no_change : int or inf, default 10
        Epochs without improvement tolerated by the stopping rule.
    max_fun : int, default 15000
        The most loss evaluations of "lbfgs".
    dtype : {None, "float64", "float32"}, default None
        The dtype of training and prediction; None follows scikit-learn: float32
        input trains in float32, anything else in float64.
    callbacks : list of deltaprop Callback or functions fn(epoch, history, net), default None
        Called by deltaprop's training loop (for "lbfgs": after every iteration); one
        returning True stops training.
"""

ATTRIBUTES = """
    Attributes
    ----------
    coefs_ : list of ndarray of shape (M_{h-1}, M_h)
        The weights in scikit-learn's (fan_in, fan_out) layout: ``coefs_[h-1]`` is
        the transpose of the lecture's W^(h).
    intercepts_ : list of ndarray of shape (M_h,)
        The biases b^(h).
    n_layers_, n_outputs_ : int
        D + 1 (input and output layers included), and K.
    out_activation_ : str
        The output unit: "softmax", "logistic" or "identity".
    loss_ : float
        The last epoch's training loss, penalty included.
    loss_curve_ : list of float
        The training loss per epoch (per iteration for "lbfgs").
    validation_loss_curve_ : list of float or None
        The loss on the held-out data per epoch, with ``early_stopping``.
    best_loss_ : float or None
        The lowest training loss (None with ``early_stopping``).
    validation_scores_ : list of float or None
        The held-out score per epoch, with ``early_stopping``.
    best_validation_score_ : float or None
        The best of them.
    n_iter_ : int
        Epochs (iterations) run by the last call to fit.
    t_ : int
        Training samples seen, over all calls.
    history_ : deltaprop.train.History
        The loss, validation loss and score, learning rate and gradient norms per
        epoch, and why training stopped.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when X has string column names (a pandas DataFrame).
"""


def with_docs(summary: str, extra_parameters: str, attributes: str, examples: str) -> str:
    """A class docstring: the summary, the shared and the class's own parameters and attributes, examples."""
    own_attributes = "\n" + attributes.strip("\n") if attributes.strip() else ""
    return (
        f"{summary.rstrip()}\n{PARAMETERS.rstrip()}\n{extra_parameters.strip(chr(10))}\n"
        f"{ATTRIBUTES.rstrip()}{own_attributes}\n{examples.rstrip()}\n    "
    )
