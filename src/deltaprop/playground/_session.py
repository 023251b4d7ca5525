"""One page's run: its data, network and Trainer, and the frames and traces the page draws.

A :class:`Session` is plain synchronous Python (the server calls it off the event
loop, one call at a time).  It trains with :func:`train_epoch` and
:func:`make_trainer`, the functions the exported snippet calls, so a frame after E
epochs shows the numbers of a direct ``Trainer`` run of E epochs.
"""

from __future__ import annotations

import base64
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deltaprop import modelfile
from deltaprop._types import Array
from deltaprop.explain import trace
from deltaprop.playground._data import (
    DOMAIN,
    FEATURE_LABELS,
    PlaygroundData,
    features,
    make_data,
    make_network,
    make_trainer,
    train_epoch,
)
from deltaprop.playground._state import (
    ACTIVATION_NAMES,
    CLASSIFICATION,
    REGRESSION,
    TRAINING_FIELDS,
    VIEW_FIELDS,
    Settings,
    SettingsError,
    settings_dict,
    to_hash,
    updated,
)
from deltaprop.train import DivergenceError

OUTPUT_GRID = 60  # cells per side of the output heatmap
UNIT_GRID = 24  # cells per side of each unit's heatmap
MAX_CURVE = 400  # points of a curve sent to the page (longer runs are thinned)
MAX_EPOCHS = 100_000  # a run stops here
DIVERGED = 1e6  # a run stops when its training loss grows past this many times its start


def grid_points(cells: int) -> Array:
    """The centres of a cells x cells grid over [-6, 6]^2, row 0 at the top (x2 = 6)."""
    c = (np.arange(cells) + 0.5) / cells * 2 * DOMAIN - DOMAIN
    x1, x2 = np.meshgrid(c, c[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])


def _bytes(values: Array) -> str:
    """Values in [0, 1] as base64 bytes 0..255: the page's heatmaps."""
    q = np.rint(np.clip(np.nan_to_num(values, nan=0.5), 0.0, 1.0) * 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _unit_map(z: Array) -> dict[str, Any]:
    """One unit's values on the grid, scaled by max |z| to [-1, 1], as bytes (and the scale)."""
    peak = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.0
    scale = peak if peak > 1e-12 else 1.0
    return {"grid": _bytes((z / scale + 1.0) / 2.0), "scale": scale}


def _thin(n: int) -> NDArray[np.int64]:
    """At most MAX_CURVE indices spread over range(n), the last one included."""
    return np.unique(np.linspace(0, n - 1, min(n, MAX_CURVE)).round().astype(int)) if n else np.arange(0)


def _rounded(value: Any, digits: int = 6) -> Any:
    return np.round(np.asarray(value, dtype=np.float64), digits).tolist()


class Session:
    """The state of one playground page: settings, data, network, Trainer and the run so far."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings: Settings = settings or Settings()
        self.reset()

    # ------------------------------------------------------------ set-up
    def reset(self, settings: Settings | None = None) -> None:
        """Start again from epoch 0: new data if the settings changed, the initial weights."""
        self.settings = settings or self.settings
        self.started = self.settings
        self.data: PlaygroundData = make_data(self.settings)
        self.net = make_network(self.settings)
        self.trainer = make_trainer(self.net, self.settings)
        self.batches = np.random.default_rng(self.settings.seed + 1)
        self.epoch = 0
        self.history: dict[str, list[float]] = {"train": [], "test": []}
        self.grad_norms: list[list[float]] = []
        self.dead: list[list[int] | None] = []
        # What changed during the run, for the snippet: (epoch, what, details).
        self.events: list[tuple[int, str, Any]] = []
        self.problem: str | None = None
        self._measure()

    def change(self, changes: Any) -> str:
        """Apply the page's changes; returns "reset", "training" or "view": what they touched."""
        new = updated(self.settings, changes)
        touched = {name for name in changes if getattr(new, name) != getattr(self.settings, name)}
        if touched <= VIEW_FIELDS:
            self.settings = new
            return "view"
        if touched <= TRAINING_FIELDS | VIEW_FIELDS:
            self.settings = new
            # The weights stay; the optimiser starts afresh with the new settings.
            self.trainer = make_trainer(self.net, new)
            self.events.append((self.epoch, "settings", new))
            return "training"
        self.reset(new)
        return "reset"

    def regenerate(self, seed: int) -> None:
        """New data (and initial weights) from another seed."""
        self.reset(replace(self.settings, seed=seed))

    def set_weight(self, layer: int, to: int, frm: int, value: float) -> None:
        """Set (W^(layer))_{to, frm}, the link from unit ``frm`` of layer-1 to unit ``to``."""
        self._check_index(layer, to, frm)
        self.net.W[layer - 1][to, frm] = value
        self.events.append((self.epoch, "weight", (layer, to, frm, value)))
        self._measure()

    def set_bias(self, layer: int, unit: int, value: float) -> None:
        """Set (b^(layer))_unit."""
        self._check_index(layer, unit, None)
        self.net.b[layer - 1][unit] = value
        self.events.append((self.epoch, "bias", (layer, unit, value)))
        self._measure()

    def _check_index(self, layer: int, to: int, frm: int | None) -> None:
        D = self.net.D
        if not 1 <= layer <= D:
            raise SettingsError(f"The network has layers 1 to {D}; got layer {layer}.")
        rows, cols = self.net.W[layer - 1].shape
        if not 0 <= to < rows or (frm is not None and not 0 <= frm < cols):
            raise SettingsError(f"Layer {layer} has no unit there; W^({layer}) has shape ({rows}, {cols}).")

    # ---------------------------------------------------------- training
    def step(self) -> None:
        """One epoch, then the losses, gradient norms and dead units it leaves."""
        if self.problem is not None or self.epoch >= MAX_EPOCHS:
            return
        s = self.settings
        try:
            with np.errstate(all="ignore"):
                train_epoch(self.trainer, self.data.X_train, self.data.Y_train, s.batch_size, self.batches)
        except DivergenceError as error:
            self.problem = str(error)
            return
        self.epoch += 1
        self._measure()

    def run_for(self, seconds: float, max_epochs: int) -> int:
        """Epochs until ``seconds`` have passed or ``max_epochs`` ran; returns how many ran."""
        start, ran = time.perf_counter(), 0
        while ran < max_epochs and self.problem is None and self.epoch < MAX_EPOCHS:
            self.step()
            ran += 1
            if time.perf_counter() - start >= seconds:
                break
        return ran

    def _measure(self) -> None:
        """Record the data losses, per-layer ||dL/dW^(h)|| and dead ReLUs of the current weights."""
        net, d = self.net, self.data
        with np.errstate(all="ignore"):
            cache = net.forward(d.X_train)
            grads = net.backward(cache, d.Y_train)
            train = net.cache_loss(cache, d.Y_train)
            test = net.loss(d.X_test, d.Y_test)
        record = self.epoch == len(self.history["train"])
        if not record:  # a weight edit replaces the current epoch's numbers
            for curve in (self.history["train"], self.history["test"], self.grad_norms):
                curve.pop()
        self.history["train"].append(train)
        self.history["test"].append(test)
        self.grad_norms.append([float(np.linalg.norm(g)) for g in grads.W])
        self.dead = [
            np.flatnonzero((a <= 0).all(axis=0)).tolist() if act.name == "relu" else None
            for a, act in zip(cache.a[:-1], net.activations, strict=True)
        ]
        start = max(1.0, self.history["train"][0])
        if not (np.isfinite(train) and np.isfinite(test)):
            self.problem = (
                "The loss is no longer a finite number: training diverged. Lower the learning "
                "rate, or press reset."
            )
        elif train > DIVERGED * start:
            self.problem = (
                f"The training loss grew to {train:.3g}, more than {DIVERGED:g} times its start: "
                "training diverges. Lower the learning rate (large inputs such as x1^2 need a small "
                "one), or press reset."
            )

    # ------------------------------------------------------------ frames
    def setup(self) -> dict[str, Any]:
        """What the page needs once per run: settings, hash, points, the network's shape."""
        s, d = self.settings, self.data
        return {
            "type": "setup",
            "settings": settings_dict(s),
            "hash": to_hash(s),
            "task": s.task,
            "classes": s.n_classes,
            "sizes": self.net.sizes,
            "features": [FEATURE_LABELS[f] for f in s.features],
            "domain": DOMAIN,
            "activations": list(ACTIVATION_NAMES),
            "datasets": {"classification": list(CLASSIFICATION), "regression": list(REGRESSION)},
            "output_grid": OUTPUT_GRID,
            "unit_grid": UNIT_GRID,
            "train": _rounded(np.column_stack([d.points_train, d.y_train]), 4),
            "test": _rounded(np.column_stack([d.points_test, d.y_test]), 4),
        }

    def frame(self, playing: bool = False) -> dict[str, Any]:
        """The page's picture of the run now: losses, heatmaps, weights, norms, dead units."""
        net, s = self.net, self.settings
        with np.errstate(all="ignore"):
            out = net.predict(features(grid_points(OUTPUT_GRID), s.features))
            if s.task == "regression":
                output = {"grid": _bytes((out[:, 0] + 1.0) / 2.0), "channels": 1}
            else:
                output = {"grid": _bytes(out.reshape(-1)), "channels": s.n_classes}
            X = features(grid_points(UNIT_GRID), s.features)
            cache = net.forward(X)
        units = [[_unit_map(z[:, j]) for j in range(z.shape[1])] for z in cache.z[:-1]]
        epochs = _thin(len(self.history["train"]))
        return {
            "type": "frame",
            "epoch": self.epoch,
            "playing": playing,
            "train_loss": self.history["train"][-1],
            "test_loss": self.history["test"][-1],
            "curve": {
                "epoch": epochs.tolist(),
                "train": [self.history["train"][i] for i in epochs],
                "test": [self.history["test"][i] for i in epochs],
                "grad_norms": [self.grad_norms[i] for i in epochs],
            },
            "dead": self.dead,
            "output": output,
            "units": units,
            "W": [_rounded(w) for w in net.W],
            "b": [_rounded(v) for v in net.b],
            "problem": self.problem,
        }

    def inspect(self, which: str, index: int) -> dict[str, Any]:
        """The backpropagation trace of one step on one training or test point."""
        d, s = self.data, self.settings
        X, Y, P = (
            (d.X_train, d.Y_train, d.points_train)
            if which == "train"
            else (d.X_test, d.Y_test, d.points_test)
        )
        if not 0 <= index < X.shape[0]:
            raise SettingsError(f"There are {X.shape[0]} {which} points; got point {index}.")
        l2 = s.reg_rate if s.regularization == "l2" else 0.0
        with np.errstate(all="ignore"):
            t = trace(self.net, X[index], Y[index], lr=s.learning_rate, l2=l2)
        per_layer = {}
        for h in range(1, self.net.D + 1):
            per_layer[h] = {
                "a": _rounded(t[f"a^({h})"][:, 0]),
                "z": _rounded(t[f"z^({h})"][:, 0] if h < self.net.D else t["f(X)"][:, 0]),
                "sigma_prime": _rounded(t[f"sigma'(a^({h}))"][:, 0]) if h < self.net.D else None,
                "delta": _rounded(t[f"delta^({h})"][:, 0]),
            }
        return {
            "type": "inspect",
            "set": which,
            "index": index,
            "point": _rounded(P[index], 4),
            "x": _rounded(X[index]),
            "y": _rounded(Y[index]),
            "layers": [per_layer[h] for h in range(1, self.net.D + 1)],
            "W": [_rounded(t[f"W^({h})"]) for h in range(1, self.net.D + 1)],
            "trace": t.to_text(digits=4),
        }

    # ------------------------------------------------------------ export
    def export(self) -> dict[str, Any]:
        """The network as a deltaprop model file (base64) and a snippet that reproduces the run."""
        metadata = {
            "playground": settings_dict(self.settings),
            "hash": to_hash(self.settings),
            "epoch": self.epoch,
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = modelfile.save(self.net, Path(tmp) / "playground.npz", metadata=metadata)
            data = path.read_bytes()
        return {
            "type": "export",
            "model": base64.b64encode(data).decode("ascii"),
            "model_name": "playground.npz",
            "snippet": self.snippet(),
            "snippet_name": "playground_run.py",
        }

    def snippet(self) -> str:
        """Python that reproduces this run with the library: same seed, same result."""
        start = self.started  # the settings the run began with; later changes are events
        lines = [
            f'"""The deltaprop playground run #{to_hash(self.settings)}, {self.epoch} epochs."""',
            "",
            "import numpy as np",
            "",
            "from deltaprop.playground import Settings, make_data, make_network, make_trainer, train_epoch",
            "",
            f"settings = {start!r}",
            "data = make_data(settings)  # seeded points, the chosen features, the train/test split",
            "net = make_network(settings)  # Network(settings.sizes, ..., random_state=settings.seed)",
            "trainer = make_trainer(net, settings)  # Trainer(net, optimizer, learning_rate, l2)",
            "batches = np.random.default_rng(settings.seed + 1)  # the order of the batches",
        ]
        done = 0
        for epoch, what, details in [*self.events, (self.epoch, "end", None)]:
            if epoch > done:
                lines += [
                    f"for epoch in range({done}, {epoch}):",
                    "    train_epoch(trainer, data.X_train, data.Y_train, settings.batch_size, batches)",
                ]
                done = epoch
            if what == "settings":
                lines += [
                    f"settings = {details!r}  # changed at epoch {epoch}",
                    "trainer = make_trainer(net, settings)",
                ]
            elif what == "weight":
                h, to, frm, value = details
                lines.append(f"net.W[{h - 1}][{to}, {frm}] = {value!r}  # W^({h}) edited at epoch {epoch}")
            elif what == "bias":
                h, unit, value = details
                lines.append(f"net.b[{h - 1}][{unit}] = {value!r}  # b^({h}) edited at epoch {epoch}")
        lines += [
            'print("train loss", net.loss(data.X_train, data.Y_train))',
            'print("test loss", net.loss(data.X_test, data.Y_test))',
            "",
        ]
        return "\n".join(lines)
