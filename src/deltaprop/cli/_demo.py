"""The tour that ``deltaprop demo`` runs and writes as one self-contained HTML report.

Everything it uses ships with deltaprop or scikit-learn (no download): two moons
learned by the lecture's batch gradient descent, with decision regions and per-unit
maps; the network diagram, gradient norms and a gradient check; one backpropagation
step traced quantity by quantity; digits classification; diabetes regression; and the
edge of stability of batch gradient descent on 200 digits (:mod:`deltaprop.lab`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deltaprop import datasets, plots
from deltaprop.explain import trace
from deltaprop.gradcheck import check_gradients
from deltaprop.lab import edge_of_stability
from deltaprop.metrics import classification_metrics, regression_metrics
from deltaprop.network import Network
from deltaprop.preprocessing import Preprocessor
from deltaprop.report import Report, trace_html
from deltaprop.train import fit, split_validation

# Every figure of the report, by name (the HTML id is "fig-<name>").
DEMO_FIGURES = (
    "activations",
    "decision-regions",
    "neuron-maps",
    "neuron-maps-2",
    "moons-loss",
    "network",
    "gradient-norms",
    "digits-loss",
    "confusion-matrix",
    "diabetes-loss",
    "predicted-vs-true",
    "edge-of-stability",
)

_EQUATIONS = """\
forward     z^(0) = x,   a^(h) = W^(h) z^(h-1) + b^(h),   z^(h) = sigma(a^(h)),   f(x) = sigma_out(a^(D))
output      delta^(D) = f(X) - Y                                      (softmax + cross-entropy, identity + L2)
backward    delta^(h) = sigma'(a^(h)) o (W^(h+1))^T delta^(h+1)       h = D-1, ..., 1
gradients   dl/dW^(h) = delta^(h) (z^(h-1))^T,   dl/db^(h) = delta^(h)
step        w(t+1) = w(t) - eta (grad_w L_S + lambda w(t)),   b(t+1) = b(t) - eta grad_b L_S"""

_COMMANDS = """\
deltaprop datasets moons --out moons.csv
deltaprop train moons.csv --target y --hidden 8,8 --activation tanh --solver gd --lr 0.2 \\
    --epochs 2000 --out moons.npz --report moons-report
deltaprop plot decision-regions --model moons.npz --data moons.csv --out moons-regions.png
deltaprop explain --model moons.npz --data moons.csv --row 0
deltaprop datasets digits --out digits.csv
deltaprop train digits.csv --target y --hidden 32 --epochs 40 --batch-size 64 --out digits.npz
deltaprop evaluate digits.npz digits.csv
deltaprop lab edge-of-stability --data digits --samples 200 --inputs centre --hidden 32,32 \\
    --lrs 0.3,0.05 --steps 1500 --every 25 --out edge-of-stability.png"""


_CLASSIFICATION_KEYS = ("accuracy", "log_loss", "macro_precision", "macro_recall", "macro_f1")


def _frame(X: np.ndarray, y: np.ndarray, prefix: str, target: str) -> pd.DataFrame:
    frame = pd.DataFrame(X, columns=[f"{prefix}{j}" for j in range(1, X.shape[1] + 1)])
    frame[target] = y
    return frame


def _moons(report: Report, quick: bool, seed: int) -> Network:
    X, y = datasets.moons(n=200, noise=0.2, random_state=seed)
    Y = np.eye(2)[y]
    net = Network([2, 8, 8, 2], activation="tanh", output="softmax", random_state=seed)
    epochs = 400 if quick else 2000
    history = fit(net, X, Y, optimizer="gd", learning_rate=0.2, epochs=epochs)
    accuracy = float(np.mean(net.predict(X).argmax(axis=1) == y))
    report.section(
        "Two moons, learned by batch gradient descent",
        f"200 points of two interleaving half circles; a network [2, 8, 8, 2] with tanh hidden units and a "
        f"softmax output, trained by the lecture's batch gradient descent: every one of the {epochs} steps "
        f"uses the whole data set, w(t+1) = w(t) - eta grad L_S with eta = 0.2. Training accuracy "
        f"{accuracy:.3f}, loss {history.loss[0]:.3f} -> {history.loss[-1]:.4f}.",
    )
    report.figure(plots.plot_decision_regions(net.predict, X, y), "decision-regions", "Decision regions.")
    report.figure(plots.plot_loss_curves(history), "moons-loss", "Loss L_S per step (one epoch = one step).")
    report.text(
        "Each hidden unit's activation z^(h)_m over the plane, as the TensorFlow Playground shows them: "
        "the units of layer 1 draw straight boundaries, and layer 2 bends them into the curved regions "
        "above (blue > 0, white 0, red < 0)."
    )
    for h, name in ((1, "neuron-maps"), (2, "neuron-maps-2")):
        caption = f"Layer {h}: z^({h})_m = tanh(a^({h})_m)."
        report.figure(plots.plot_neuron_maps(net, X, layer=h), name, caption)
    report.section(
        "Inside the moons network",
        "The weights W^(h) of the trained network as coloured edges, and the mean gradient norm "
        "||dL/dW^(h)|| of each layer over training: lower layers whose line falls far below the "
        "upper ones' would signal vanishing gradients.",
    )
    report.figure(plots.plot_network(net), "network", "The network: edge colour and width = weight.")
    report.figure(plots.plot_gradient_norms(history), "gradient-norms", "Gradient norm per layer and step.")
    check = check_gradients(net, X[:10], Y[:10], l2=1e-3)
    report.text(
        "Backpropagation checked against fourth-order central differences on 10 samples (lambda = 0.001): "
        "relative errors near 1e-10 mean the two agree to rounding."
    )
    header = ["layer h", "rel. error dL/dW^(h)", "rel. error dL/db^(h)"]
    report.table(header, [[e.h, e.W, e.b] for e in check.layers])
    return net


def _trace(report: Report, seed: int) -> None:
    X, y = datasets.moons(n=20, noise=0.2, random_state=seed)
    net = Network([2, 3, 2], activation="tanh", output="softmax", random_state=seed)
    result = trace(net, X[:1], np.eye(2)[y[:1]], lr=0.5)
    report.section(
        "One step of backpropagation, every quantity",
        "A small network [2, 3, 2] (tanh, softmax) and one sample of the moons: each quantity of the "
        "lecture with the equation that produced it. Vectors are the lecture's columns. Check a hand "
        "computation against it, or print the same with `deltaprop explain`.",
    )
    report.raw(trace_html(result))


def _digits(report: Report, quick: bool, seed: int) -> None:
    X, y = datasets.load("digits")
    train, test = split_validation(len(y), 0.25, np.random.default_rng(seed))
    frame = _frame(X, y, "pixel", "digit")
    prep = Preprocessor.fit(frame.iloc[train], "digit", task="classification")
    net = Network([prep.n_features, 32, 10], "relu", "softmax", init="he", random_state=seed)
    epochs = 12 if quick else 40
    history = fit(
        net,
        prep.transform(frame.iloc[train]),
        prep.encode_target(frame.iloc[train]),
        optimizer="adam",
        learning_rate=0.003,
        epochs=epochs,
        batch_size=64,
        validation_fraction=0.2,
        random_state=seed,
    )
    test_frame = frame.iloc[test]
    proba = np.asarray(net.predict(prep.transform(test_frame)), dtype=np.float64)
    metrics = classification_metrics(prep.target_indices(test_frame), proba, prep.classes or [])
    report.section(
        "Handwritten digits: classification",
        f"scikit-learn's 1797 digits (8x8 pixels, 10 classes), 75 % for training (20 % of it held out "
        f"for validation) and 25 % for testing; pixels standardised; a network [64, 32, 10] with ReLU "
        f"units trained by Adam on mini-batches of 64 for {epochs} epochs.",
    )
    report.table(
        ["test rows", "accuracy", "log loss", "macro precision", "macro recall", "macro F1"],
        [[len(test)] + [metrics[k] for k in _CLASSIFICATION_KEYS]],
    )
    report.figure(plots.plot_loss_curves(history), "digits-loss", "Training and validation loss per epoch.")
    labels = np.asarray(prep.classes)
    report.figure(
        plots.plot_confusion_matrix(labels[prep.target_indices(test_frame)], labels[proba.argmax(axis=1)]),
        "confusion-matrix",
        "Confusion matrix on the test rows.",
    )


def _diabetes(report: Report, quick: bool, seed: int) -> None:
    X, y = datasets.load("diabetes")
    train, test = split_validation(len(y), 0.25, np.random.default_rng(seed))
    frame = _frame(X, y, "x", "progression")
    prep = Preprocessor.fit(frame.iloc[train], "progression", task="regression")
    net = Network([prep.n_features, 16, 1], activation="tanh", output="identity", random_state=seed)
    history = fit(
        net,
        prep.transform(frame.iloc[train]),
        prep.encode_target(frame.iloc[train]),
        optimizer="adam",
        learning_rate=0.005,
        l2=1e-3,
        epochs=60 if quick else 200,
        batch_size=32,
        validation_fraction=0.2,
        early_stopping=True,
        n_iter_no_change=20,
        random_state=seed,
    )
    test_frame = frame.iloc[test]
    predicted = prep.decode(net.predict(prep.transform(test_frame)))
    truth = prep.target_values(test_frame)
    metrics = regression_metrics(truth, predicted)
    report.section(
        "Diabetes: regression",
        "scikit-learn's 442 diabetes patients, 10 features, the target a measure of disease progression "
        "one year later. The target is standardised for training and predictions are mapped back; a network "
        f"[10, 16, 1] (tanh, identity output, squared error, lambda = 0.001) trained by Adam with early "
        f"stopping on the validation loss: {history.epochs} epochs, best epoch {history.best_epoch}.",
    )
    report.table(
        ["test rows", "MSE", "RMSE", "MAE", "R^2"],
        [[len(test), metrics["mse"], metrics["rmse"], metrics["mae"], metrics["r2"]]],
    )
    caption = "Loss per epoch; the dotted line marks the best epoch."
    report.figure(plots.plot_loss_curves(history), "diabetes-loss", caption)
    caption = "Predicted against true progression on the test rows."
    report.figure(plots.plot_predicted_vs_true(truth, predicted), "predicted-vs-true", caption)


def _edge_of_stability(report: Report, seed: int) -> None:
    X, y = datasets.load("digits")
    X = X[:200] / 16.0
    X, Y = X - X.mean(axis=0), np.eye(10)[y[:200]]
    net = Network([64, 32, 32, 10], activation="tanh", output="identity", random_state=seed)
    steps = 1500  # the edge is reached at step 600 and held after it: --quick runs all of it too
    result = edge_of_stability(net, X, Y, lrs=[0.3, 0.05], steps=steps, every=25, random_state=seed, tol=1e-4)
    edge, small = result.run(0.3), result.run(0.05)
    low = int(np.nanargmin(small.sharpness))
    reached = (
        "never reached 2/eta"
        if edge.reached_step is None
        else f"first reached 2/eta at step {edge.reached_step}"
    )
    report.section(
        "The edge of stability",
        "Why one learning rate trains and another diverges: on a quadratic, gradient descent is stable "
        "exactly when eta < 2/lambda_max, lambda_max the top eigenvalue of the Hessian (the sharpness). "
        "A network's Hessian moves: under full-batch gradient descent its sharpness rises until it reaches "
        "2/eta and then hovers there while the loss keeps falling, non-monotonically (Cohen et al., ICLR "
        f"2021). Here 200 digits, a network [64, 32, 32, 10] (tanh, squared error on one-hot classes), "
        f"{steps} steps; the sharpness by Lanczos on exact Hessian-vector products (R-operator) every 25 "
        f"steps. At eta = 0.3 it {reached}, then stayed at a median {edge.median_ratio:.3f} x 2/eta; at "
        f"eta = 0.05 (2/eta = 40) it rose steadily from its minimum {small.sharpness[low]:.2f} (step "
        f"{small.steps[low]}) to {small.sharpness[-1]:.2f}: progressive sharpening.",
    )
    caption = (
        "Loss per step (left); sharpness against 2/eta, dashed (right). deltaprop lab edge-of-stability."
    )
    report.figure(plots.plot_edge_of_stability(result), "edge-of-stability", caption, wide=True)


def run_demo(
    out: Path,
    *,
    quick: bool = False,
    seed: int = 0,
    png: bool = False,
    log: Callable[[str], Any] = print,
) -> Path:
    """Run the tour and write ``out/report.html`` (and with ``png`` every figure as PNG); return its path."""
    from deltaprop._version import __version__

    started = time.perf_counter()
    report = Report(
        "deltaprop: backpropagation, step by step",
        f"A tour of deltaprop {__version__}: feedforward networks trained by gradient descent with explicit "
        f"backpropagation in NumPy (seed {seed}{', quick run' if quick else ''}).",
    )
    report.section(
        "The lecture in five lines",
        "Every number below comes from these equations, computed by deltaprop.network in NumPy with no "
        "automatic differentiation. Batches are rows in the code; the slides' per-sample column vectors "
        "are the same equations transposed.",
    )
    report.code(_EQUATIONS)
    report.section(
        "Activation functions and their derivatives",
        "sigma enters the gradient only through sigma'. Red sigmoid, blue tanh, green ReLU (ReLU'(0) = 0), "
        "as on the slides; dashed lines are the derivatives.",
    )
    report.figure(plots.plot_activations(), "activations", "sigma(a) and sigma'(a) on [-3, 3].")
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("two moons by batch gradient descent", lambda: _moons(report, quick, seed)),
        ("a backpropagation trace", lambda: _trace(report, seed)),
        ("digits classification", lambda: _digits(report, quick, seed)),
        ("diabetes regression", lambda: _diabetes(report, quick, seed)),
        ("the edge of stability", lambda: _edge_of_stability(report, seed)),
    ]
    for i, (what, step) in enumerate(steps, start=1):
        began = time.perf_counter()
        step()
        log(f"[{i}/{len(steps)}] {what}: {time.perf_counter() - began:.1f} s")
    report.section("Do it yourself", "The same on the command line, from data files:")
    report.code(_COMMANDS)
    path = report.write(Path(out) / "report.html")
    if png:
        report.save_pngs(Path(out))
    log(f"Done in {time.perf_counter() - started:.1f} s.")
    return path
