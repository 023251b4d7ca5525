import base64
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from deltaprop.explain import trace
from deltaprop.network import Network
from deltaprop.preprocessing import Preprocessor
from deltaprop.report import Report, decision_regions, trace_html, training_report
from deltaprop.train import fit


def _figure():
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


def _images(page):
    return re.findall(
        r'<figure id="fig-([a-z0-9-]+)"[^>]*><img alt="[^"]*" src="data:image/png;base64,([^"]+)"', page
    )


def test_figures_are_embedded_as_png_and_named():
    report = Report("Title", "sub")
    report.section("One")
    report.figure(_figure(), "first", "The first.")
    report.figure(_figure(), "second", "The second.", wide=True)
    report.section("Two")
    report.figure(_figure(), "third", "The third.")
    page = report.render()
    images = _images(page)
    assert [name for name, _ in images] == ["first", "second", "third"] == report.figure_names
    for _, data in images:
        assert base64.b64decode(data)[:4] == b"\x89PNG"
    # Consecutive figures share one row; a new section starts another.
    assert page.count('<div class="figures">') == 2
    assert '<figure id="fig-second" class="wide">' in page


def test_text_is_escaped_and_sections_are_listed():
    report = Report("A <b>report</b>")
    report.section("Intro & more", "Use `deltaprop demo` <now>.")
    report.code("if a < b:\n    print('&')")
    report.heading("Sub <heading>")
    report.section("Second")
    page = report.render()
    assert "<title>A &lt;b&gt;report&lt;/b&gt;</title>" in page
    assert "<p>Use <code>deltaprop demo</code> &lt;now&gt;.</p>" in page
    assert "<pre>if a &lt; b:\n    print(&#x27;&amp;&#x27;)</pre>" in page
    assert "<h3>Sub &lt;heading&gt;</h3>" in page
    assert (
        '<li><a href="#section-1">Intro &amp; more</a></li><li><a href="#section-2">Second</a></li>' in page
    )
    assert '<section id="section-2"><h2>Second</h2>' in page


def test_tables_format_numbers_and_align_them_right():
    report = Report("T")
    report.table(["name", "value", "count", "flag"], [["a<b", 0.123456789, 7, True]], caption="Numbers")
    page = report.render()
    assert "<caption>Numbers</caption>" in page
    assert '<td>a&lt;b</td><td class="num">0.1235</td><td class="num">7</td><td>True</td>' in page


def test_figure_names_are_checked():
    report = Report("T")
    with pytest.raises(ValueError, match="lowercase letters, digits and dashes"):
        report.figure(_figure(), "Loss Curves", "x")
    report.figure(_figure(), "loss", "x")
    with pytest.raises(ValueError, match="already has a figure named 'loss'"):
        report.figure(_figure(), "loss", "y")


def test_write_and_save_pngs(tmp_path):
    report = Report("T")
    report.figure(_figure(), "only", "x")
    path = report.write(tmp_path / "new" / "report.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "Overview" in path.read_text()  # content before the first section gets one
    [png] = report.save_pngs(tmp_path / "figures")
    assert png.name == "only.png" and png.read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob("new/*.tmp*"))


def test_trace_html_shows_every_quantity_with_its_value():
    net = Network([2, 3, 2], activation="tanh", random_state=0)
    t = trace(net, [0.5, -1.0], [0.0, 1.0], lr=0.5)
    page = trace_html(t)
    for q in t:
        assert f"<code>{q.name.replace(chr(39), '&#x27;')}</code>" in page
    assert page.count('<table class="trace">') == len({q.stage for q in t})
    row = re.search(r"<code>dL/db\^\(1\)</code>.*?<pre>(.*?)</pre>", page, re.S).group(1)
    shown = [float(v) for v in re.findall(r"-?\d+\.\d+", row)]
    np.testing.assert_allclose(shown, t["dL/db^(1)"], atol=5e-5)
    assert "3x1" in page and "learning rate η = 0.5" in page


def _moons_model(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 80)
    frame = pd.DataFrame(
        {
            "u": rng.normal(size=80) + 2.0 * labels,
            "v": rng.normal(size=80),
            "kind": np.where(labels, "b", "a"),
        }
    )
    prep = Preprocessor.fit(frame, "kind")
    net = Network([2, 4, 2], activation="tanh", random_state=seed)
    history = fit(
        net, prep.transform(frame), prep.encode_target(frame), optimizer="adam", learning_rate=0.05, epochs=20
    )
    return (net, prep, history, {"solver": "adam", "lr": 0.05}), frame


def test_training_report_for_a_classifier_of_two_columns(tmp_path):
    model, frame = _moons_model()
    report = training_report(*model, frame.iloc[:60], frame.iloc[60:], tmp_path / "moons.csv")
    assert report.figure_names == [
        "loss-curves",
        "gradient-norms",
        "confusion-matrix",
        "decision-regions",
        "network",
    ]
    page = report.render()
    assert "Training report: moons.csv" in page and "validation rows" in page


def test_training_report_for_a_regression():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)})
    frame["y"] = 3.0 * frame["a"] + 1.0
    prep = Preprocessor.fit(frame, "y")
    net = Network([2, 1], output="identity", random_state=0)
    history = fit(net, prep.transform(frame), prep.encode_target(frame), learning_rate=0.1, epochs=50)
    report = training_report(net, prep, history, {}, frame, None, "data/line.csv")
    assert report.figure_names == ["loss-curves", "gradient-norms", "predicted-vs-true", "network"]
    page = report.render()
    assert "Training report: line.csv" in page and "<th>R^2</th>" in page


def test_decision_regions_use_the_columns_and_the_class_labels():
    (net, prep, _, _), frame = _moons_model()
    fig = decision_regions(net, prep, frame)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("u", "v")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert ax.get_images()  # the regions are an image under the points
