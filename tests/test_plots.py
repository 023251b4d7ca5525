import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import same_color
from matplotlib.figure import Figure

from deltaprop.activations import relu, sigmoid, tanh
from deltaprop.network import Network
from deltaprop.plots import (
    ELLIPSIS,
    confusion_matrix,
    plot_activations,
    plot_confusion_matrix,
    plot_decision_regions,
    plot_gradient_norms,
    plot_loss_curves,
    plot_network,
    plot_neuron_maps,
    plot_predicted_vs_true,
    save_figure,
)
from deltaprop.train import fit


def _lines(fig, i=0):
    return fig.axes[i].get_lines()


# ------------------------------------------------------------------ activations
def test_activations_are_the_lectures_colours_solid_and_dashed():
    fig = plot_activations()
    assert isinstance(fig, Figure)
    lines = {line.get_label(): line for line in _lines(fig)}
    for act, colour in [(sigmoid, "red"), (tanh, "blue"), (relu, "green")]:
        f = lines[rf"{act.name} $\sigma(a)$"]
        df = lines[rf"{act.name} $\sigma'(a)$"]
        assert same_color(f.get_color(), colour) and same_color(df.get_color(), colour)
        assert f.get_linestyle() == "-" and df.get_linestyle() == "--"
        a = np.asarray(f.get_xdata())
        assert a[0] == -3.0 and a[-1] == 3.0
        np.testing.assert_array_equal(f.get_ydata(), act.f(a))
        np.testing.assert_array_equal(df.get_ydata(), act.df(a, act.f(a)))
    assert fig.axes[0].get_legend() is not None


def test_activations_accept_other_names_with_distinct_colours():
    fig = plot_activations(["gelu", "softplus"])
    colours = {line.get_color() for line in _lines(fig) if line.get_label().endswith("$\\sigma(a)$")}
    assert len(colours) == 2
    with pytest.raises(ValueError, match="'names'"):
        plot_activations(["swish9"])


def test_plots_draw_into_a_given_axes():
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    assert plot_activations(ax=ax) is fig
    assert len(ax.get_lines()) >= 6


# --------------------------------------------------------------------- training
def test_loss_curves_from_a_history_with_validation_and_best_epoch():
    history = SimpleNamespace(loss=[1.0, 0.6, 0.4, 0.35], val_loss=[1.1, 0.7, 0.5, 0.55], best_epoch=2)
    fig = plot_loss_curves(history)
    lines = {line.get_label(): line for line in _lines(fig)}
    np.testing.assert_array_equal(lines["training loss"].get_ydata(), history.loss)
    np.testing.assert_array_equal(lines["validation loss"].get_ydata(), history.val_loss)
    np.testing.assert_array_equal(lines["training loss"].get_xdata(), [0, 1, 2, 3])
    best = lines["best epoch (2)"]
    assert list(best.get_xdata()) == [2, 2]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["training loss", "validation loss", "best epoch (2)"]


def test_loss_curves_and_gradient_norms_from_fits_history():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    net = Network([2, 4, 2], activation="tanh", random_state=0)
    history = fit(net, X, Y, learning_rate=0.5, epochs=15, validation_fraction=0.25, random_state=0)
    lines = {line.get_label(): line for line in _lines(plot_loss_curves(history))}
    np.testing.assert_array_equal(lines["training loss"].get_ydata(), history.loss)
    np.testing.assert_array_equal(lines["validation loss"].get_ydata(), history.val_loss)
    norms = _lines(plot_gradient_norms(history))
    assert len(norms) == net.D
    np.testing.assert_array_equal(norms[0].get_ydata(), np.asarray(history.grad_norms)[:, 0])


def test_loss_curves_from_a_plain_sequence_or_array():
    fig = plot_loss_curves(np.array([3.0, 2.0, 1.0]), logy=True)
    assert [line.get_label() for line in _lines(fig)] == ["training loss"]
    assert fig.axes[0].get_yscale() == "log"
    no_validation = SimpleNamespace(loss=[1.0, 0.5], val_loss=[], best_epoch=None)
    assert len(_lines(plot_loss_curves(no_validation))) == 1


def test_loss_curves_reject_empty_histories():
    with pytest.raises(ValueError, match="history"):
        plot_loss_curves([])
    with pytest.raises(ValueError, match="best_epoch"):
        plot_loss_curves(SimpleNamespace(loss=[1.0], val_loss=[], best_epoch=-1))


def test_gradient_norms_one_line_per_layer_on_a_log_axis():
    norms = [[1.0, 10.0, 100.0], [0.1, 5.0, 90.0]]
    fig = plot_gradient_norms(SimpleNamespace(grad_norms=norms))
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    lines = _lines(fig)
    assert [line.get_label() for line in lines] == ["layer 1", "layer 2", "layer 3"]
    np.testing.assert_array_equal(lines[1].get_ydata(), [10.0, 5.0])
    with pytest.raises(ValueError, match="epochs"):
        plot_gradient_norms(SimpleNamespace(grad_norms=[]))


# --------------------------------------------------------------- classification
def _three_classes():
    X = np.array([[-1.0, -1.0], [-0.8, -1.2], [1.0, -1.0], [1.2, -0.9], [0.0, 1.0], [0.1, 1.2]])
    y = np.array([0, 0, 1, 1, 2, 2])
    return X, y


def _nearest_centre_scores(P):
    centres = np.array([[-1.0, -1.0], [1.0, -1.0], [0.0, 1.0]])
    return -np.linalg.norm(P[:, None, :] - centres[None], axis=2)  # (m, 3) scores


def test_decision_regions_image_and_one_scatter_per_class():
    X, y = _three_classes()
    fig = plot_decision_regions(_nearest_centre_scores, X, y, resolution=50)
    ax = fig.axes[0]
    assert len(ax.images) == 1
    image = ax.images[0]
    assert image.get_array().shape == (50, 50)
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 3
    assert [s.get_label() for s in scatters] == ["class 0", "class 1", "class 2"]
    for k, s in enumerate(scatters):
        np.testing.assert_array_equal(s.get_offsets(), X[y == k])
    # The region under each class's points is painted in that class's colour.
    cmap = image.get_cmap()
    for k, s in enumerate(scatters):
        assert same_color(cmap(k), s.get_facecolor()[0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]
    assert ax.get_title().endswith("1.000)")


def test_decision_regions_grid_follows_predict():
    X, y = _three_classes()
    fig = plot_decision_regions(_nearest_centre_scores, X, y, resolution=40)
    image = fig.axes[0].images[0]
    x_min, x_max, y_min, y_max = image.get_extent()
    xs, ys = np.linspace(x_min, x_max, 40), np.linspace(y_min, y_max, 40)
    gx, gy = np.meshgrid(xs, ys)
    expected = np.argmax(_nearest_centre_scores(np.column_stack([gx.ravel(), gy.ravel()])), axis=1)
    np.testing.assert_array_equal(np.asarray(image.get_array()).ravel(), expected)


def test_decision_regions_accept_labels_and_sigmoid_outputs():
    X = np.array([[-1.0, 0.0], [-0.5, 0.3], [1.0, 0.0], [0.5, -0.2]])
    y = np.array([0, 0, 1, 1])
    labels = plot_decision_regions(lambda P: (P[:, 0] > 0).astype(int), X, y, resolution=10)
    probs = plot_decision_regions(lambda P: 1 / (1 + np.exp(-5 * P[:, :1])), X, y, resolution=10)
    np.testing.assert_array_equal(labels.axes[0].images[0].get_array(), probs.axes[0].images[0].get_array())
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot_decision_regions(lambda P: P[:, 0], np.zeros((3, 3)), [0, 1, 0])
    with pytest.raises(ValueError, match="3 labels but X has 4"):
        plot_decision_regions(lambda P: P[:, 0], X, [0, 1, 0])


def test_decision_regions_with_a_trained_network():
    X, y = _three_classes()
    net = Network([2, 4, 3], activation="tanh", random_state=0)
    fig = plot_decision_regions(net.predict, X, y, resolution=20)
    region = np.asarray(fig.axes[0].images[0].get_array())
    assert set(np.unique(region)) <= {0, 1, 2}


def test_confusion_matrix_counts_and_cell_texts():
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 0, 1, 1, 1, 2, 0, 2, 2]
    counts = confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(counts, [[2, 1, 0], [0, 2, 0], [1, 0, 3]])
    fig = plot_confusion_matrix(y_true, y_pred)
    ax = fig.axes[0]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts == {(i, j): str(counts[i, j]) for i in range(3) for j in range(3)}
    np.testing.assert_array_equal(ax.images[0].get_array(), counts)
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert "0.778" in ax.get_title()  # 7 of 9 right


def test_confusion_matrix_from_scores_and_given_labels():
    scores = np.eye(3)[[0, 2, 2, 1]]
    counts = confusion_matrix([0, 2, 1, 1], scores)
    np.testing.assert_array_equal(counts, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    # Only the listed labels are counted, in the given order.
    np.testing.assert_array_equal(
        confusion_matrix(["b", "a", "c"], ["b", "b", "c"], labels=["b", "a"]), [[1, 0], [1, 0]]
    )
    fig = plot_confusion_matrix(["b", "a"], ["b", "b"], labels=["b", "a"])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["b", "a"]
    with pytest.raises(ValueError, match="y_true has 2 labels but y_pred has 3"):
        confusion_matrix([0, 1], [0, 1, 1])


# ------------------------------------------------------------------- regression
def test_predicted_vs_true_scatter_line_and_r2():
    y_true = np.array([1.0, 2.0, 3.0, 4.0])
    y_pred = np.array([1.5, 2.0, 2.5, 4.0])
    fig = plot_predicted_vs_true(y_true, y_pred)
    ax = fig.axes[0]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 1
    np.testing.assert_array_equal(scatters[0].get_offsets(), np.column_stack([y_true, y_pred]))
    (identity,) = [line for line in ax.get_lines() if line.get_label() == "$y = x$"]
    np.testing.assert_array_equal(identity.get_xdata(), identity.get_ydata())
    r2 = 1 - 0.5 / 5.0  # SS_res = 0.25 + 0.25, SS_tot = 5
    assert f"$R^2$ = {r2:.3f}" in ax.get_title()


def test_predicted_vs_true_multi_output_one_scatter_each():
    t = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 5.0]])
    fig = plot_predicted_vs_true(t, t)
    scatters = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert [s.get_label() for s in scatters] == ["output 1", "output 2"]
    assert "1.000" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="same shape"):
        plot_predicted_vs_true([1.0, 2.0], [1.0])


# ------------------------------------------------------------- inside the network
def test_neuron_maps_one_image_per_unit_with_its_activation():
    net = Network([2, 5, 3, 2], activation="tanh", random_state=1)
    extent = (-2.0, 2.0, -1.0, 1.0)
    fig = plot_neuron_maps(net, layer=2, extent=extent, resolution=12)
    maps = [ax for ax in fig.axes if ax.images]
    assert len(maps) == 3
    assert [ax.get_title() for ax in maps] == [f"$z^{{(2)}}_{{{m}}}$" for m in (1, 2, 3)]
    xs, ys = np.linspace(-2, 2, 12), np.linspace(-1, 1, 12)
    gx, gy = np.meshgrid(xs, ys)
    z2 = net.forward(np.column_stack([gx.ravel(), gy.ravel()])).z[2]
    for m, ax in enumerate(maps):
        (image,) = ax.images
        np.testing.assert_array_equal(image.get_array(), z2[:, m].reshape(12, 12))
        assert tuple(image.get_extent()) == extent
    assert len({ax.images[0].get_clim() for ax in maps}) == 1  # one shared colour scale
    assert len(fig.axes) == 4  # the maps and one colorbar


def test_neuron_maps_overlay_the_data_and_split_a_given_axes():
    net = Network([2, 4, 2], activation="relu", random_state=0)
    X = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]])
    fig = Figure()
    ax = fig.add_subplot(1, 2, 1)
    assert plot_neuron_maps(net, X, ax=ax, resolution=8) is fig
    maps = [a for a in fig.axes if a.images]
    assert len(maps) == 4 and ax not in fig.axes
    for a in maps:
        np.testing.assert_array_equal(a.collections[0].get_offsets(), X)


def test_neuron_maps_reject_what_they_cannot_draw():
    with pytest.raises(ValueError, match="2 inputs"):
        plot_neuron_maps(Network([3, 2, 2], random_state=0))
    with pytest.raises(ValueError, match=r"1\.\.2"):
        plot_neuron_maps(Network([2, 2, 2], random_state=0), layer=3)
    with pytest.raises(ValueError, match="extent"):
        plot_neuron_maps(Network([2, 2, 2], random_state=0), extent=(1, 0, 0, 1))
    with pytest.raises(TypeError, match="Network"):
        plot_neuron_maps("net")


def test_network_diagram_edges_are_the_weights():
    W = [np.array([[1.0, -2.0], [0.5, 0.0], [-0.25, 4.0]]), np.array([[1.0, -1.0, 2.0]])]
    b = [np.array([0.1, -0.1, 0.0]), np.array([0.3])]
    net = Network.from_weights(W, b, activation="tanh", output="identity")
    fig = plot_network(net)
    ax = fig.axes[0]
    (edges,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(edges.get_segments()) == 2 * 3 + 3 * 1
    rgba = edges.get_colors()
    weights = np.concatenate([W[0].ravel(), W[1].ravel()])  # edge order: layer, unit m, input j
    for colour, w in zip(rgba, weights, strict=True):
        if w > 0:  # blue dominates red for positive weights, red for negative
            assert colour[2] > colour[0]
        elif w < 0:
            assert colour[0] > colour[2]
        assert colour[3] == pytest.approx(0.15 + 0.85 * abs(w) / 4.0)
    units = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in units] == [2, 3, 1]
    assert len(fig.axes) == 2  # the diagram and its colorbar
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "tanh" in labels[1] and "identity" in labels[2]


def test_network_diagram_elides_wide_layers():
    net = Network([40, 5, 3], random_state=0)
    fig = plot_network(net, max_units=16)
    ax = fig.axes[0]
    units = [c for c in ax.collections if isinstance(c, PathCollection)]
    shown_inputs = len(units[0].get_offsets())
    assert shown_inputs < 16
    assert [t.get_text() for t in ax.texts] == [ELLIPSIS]
    (edges,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(edges.get_segments()) == shown_inputs * 5 + 5 * 3


# ------------------------------------------------------------------------ files
def test_save_figure_writes_png(tmp_path):
    path = save_figure(plot_loss_curves([1.0, 0.5]), tmp_path / "loss.png", dpi=40)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"\.png"):
        save_figure(plot_loss_curves([1.0]), tmp_path / "loss.pdf")


def test_module_import_does_not_import_matplotlib():
    code = (
        "import sys, deltaprop; before = 'matplotlib' in sys.modules; import deltaprop.plots; "
        "print(before, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = out.stdout.split()
    assert after == before == "False"


def test_plotting_never_touches_pyplot():
    code = (
        "import sys, numpy as np; import deltaprop.plots as p; from deltaprop.network import Network; "
        "net = Network([2, 3, 2], random_state=0); X = np.array([[0.0, 1.0], [1.0, 0.0]]); "
        "p.plot_activations(); p.plot_neuron_maps(net, X, resolution=5); p.plot_network(net); "
        "p.plot_decision_regions(net.predict, X, [0, 1], resolution=5); "
        "p.plot_confusion_matrix([0, 1], [1, 1]); p.plot_predicted_vs_true([1.0, 2.0], [1.5, 2.5]); "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
