"""The playground: its settings and URL hash, the messages it accepts, and its frames.

The frames are checked against a direct run of the library (make_data, make_network,
Trainer.step over shuffled batches) through Starlette's TestClient and a WebSocket.
The page itself is tested in a real browser in test_playground_browser.py.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltaprop import load, trace
from deltaprop.playground import (
    MessageError,
    Session,
    Settings,
    SettingsError,
    from_hash,
    make_data,
    make_network,
    parse_message,
    to_hash,
    updated,
)
from deltaprop.playground._state import DATASETS, FEATURES, OPTIMIZERS
from deltaprop.train import Trainer

pytest.importorskip("starlette", reason="the playground's server needs starlette (deltaprop[playground])")
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from deltaprop.playground import create_app
from deltaprop.playground._server import _finite


# ------------------------------------------------------------------ the URL hash
@st.composite
def any_settings(draw: st.DrawFn) -> Settings:
    return Settings(
        dataset=draw(st.sampled_from(DATASETS)),
        classes=draw(st.integers(2, 6)),
        noise=draw(st.integers(0, 50)),
        train_percent=draw(st.integers(10, 90)),
        points=draw(st.integers(20, 1000)),
        seed=draw(st.integers(0, 2**31 - 1)),
        features=tuple(f for f in FEATURES if draw(st.booleans())) or ("x1",),
        hidden=tuple(draw(st.lists(st.integers(1, 8), max_size=6))),
        activation=draw(st.sampled_from(["relu", "tanh", "sigmoid", "identity", "gelu"])),
        optimizer=draw(st.sampled_from(OPTIMIZERS)),
        learning_rate=draw(st.floats(1e-6, 10.0)),
        regularization=draw(st.sampled_from(["none", "l1", "l2"])),
        reg_rate=draw(st.floats(0.0, 10.0)),
        batch_size=draw(st.integers(1, 1000)),
        show_test=draw(st.booleans()),
        discretize=draw(st.booleans()),
    )


@settings(max_examples=60, deadline=None)
@given(any_settings())
def test_the_hash_round_trips_every_setting(s):
    assert from_hash(to_hash(s)) == s
    assert from_hash("#" + to_hash(s)) == s


def test_the_hash_keeps_defaults_for_missing_keys_and_reads_a_short_link():
    assert from_hash("") == Settings()
    s = from_hash("data=spiral&classes=3&hidden=8,8&act=relu&lr=0.1&features=x1,x2,sin_x1")
    assert (s.dataset, s.classes, s.hidden, s.activation) == ("spiral", 3, (8, 8), "relu")
    assert s.learning_rate == 0.1
    assert s.features == ("x1", "x2", "sin_x1")
    assert from_hash("hidden=").hidden == ()  # no hidden layer: logistic regression


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("data=mnist", "'dataset' must be one of"),
        ("hidden=4,9", "1 to 8 units"),
        ("hidden=1,1,1,1,1,1,1", "at most 6"),
        ("lr=nan", "'learning_rate' must be a number"),
        ("lr=1e400", "'learning_rate' must be a number"),
        ("lr=0", "'learning_rate' must be a number"),
        ("points=100000", "'points' must be a whole number"),
        ("noise=ten", "not valid for 'noise'"),
        ("test=yes", "not valid for 'show_test'"),
        ("features=", "non-empty list"),
        ("features=x3", "must list names"),
        ("evil=1", "unknown key"),
        ("lr=0.1&lr=0.2", "twice"),
        ("lr", "key=value"),
        ("a=" + "x" * 2000, "at most 1000"),
    ],
)
def test_a_bad_hash_is_refused_with_the_reason(text, says):
    with pytest.raises(SettingsError, match=says):
        from_hash(text)


@pytest.mark.parametrize(
    "changes",
    [
        {"classes": True},  # a bool is not a number
        {"classes": 2.0},
        {"learning_rate": float("inf")},
        {"learning_rate": "0.1"},
        {"hidden": [4, 0]},
        {"hidden": [4, "4"]},
        {"features": []},
        {"nonsense": 1},
        {},
        [("noise", 1)],
    ],
)
def test_updated_refuses_bad_changes(changes):
    with pytest.raises(SettingsError):
        updated(Settings(), changes)


# -------------------------------------------------------------------- messages
@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[1, 2]",
        '"hello"',
        "{}",
        '{"type": "format_disk"}',
        '{"type": "play", "extra": 1}',
        '{"type": "hello"}',
        '{"type": "hello", "hash": 5}',
        '{"type": "hello", "hash": "' + "a" * 1200 + '"}',
        '{"type": "set_weight", "layer": 1, "to": 0, "from": 0, "value": NaN}',
        '{"type": "set_weight", "layer": 1, "to": 0, "from": 0, "value": 1e999}',
        '{"type": "set_weight", "layer": 1, "to": 0, "from": 0, "value": 1000}',
        '{"type": "set_weight", "layer": 1, "to": 0, "from": 0, "value": true}',
        '{"type": "set_weight", "layer": 1.0, "to": 0, "from": 0, "value": 1}',
        '{"type": "set_bias", "layer": 99, "unit": 0, "value": 1}',
        '{"type": "set_bias", "layer": 1, "unit": -1, "value": 1}',
        '{"type": "inspect", "set": "all", "index": 0}',
        '{"type": "inspect", "set": "train", "index": 5000}',
        '{"type": "set", "changes": {"hidden": [[1, 2]]}}',
        '{"type": "set", "changes": {"hidden": ' + json.dumps(list(range(50))) + "}}",
        '{"type": "set", "changes": []}',
        "[" * 5000 + "]" * 5000,
        '{"type": "play"}' + " " * 9000,
        b'{"type": "play"}',
    ],
)
def test_hostile_messages_are_refused(text):
    with pytest.raises(MessageError):
        parse_message(text)


def test_good_messages_pass_as_they_are():
    assert parse_message('{"type": "step"}').type == "step"
    m = parse_message('{"type": "set", "changes": {"hidden": [8, 8], "learning_rate": 0.1}}')
    assert m.fields == {"changes": {"hidden": [8, 8], "learning_rate": 0.1}}
    m = parse_message('{"type": "set_weight", "layer": 2, "to": 1, "from": 0, "value": -1.5}')
    assert m.fields == {"layer": 2, "to": 1, "from": 0, "value": -1.5}


# ------------------------------------------------------------------- the data
def test_the_data_is_seeded_split_and_in_the_square():
    for name in DATASETS:
        s = Settings(dataset=name, classes=3, points=200, noise=20, train_percent=70, seed=3)
        a, b = make_data(s), make_data(s)
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        assert a.X_train.shape == (140, 2) and a.X_test.shape == (60, 2)
        assert np.abs(a.points_train).max() < 12
        assert a.Y_train.shape[1] == s.outputs
    other = make_data(Settings(dataset="xor", seed=4))
    assert not np.array_equal(other.X_train, make_data(Settings(dataset="xor", seed=5)).X_train)


def test_features_are_the_named_columns():
    data = make_data(Settings(dataset="circle", features=("x1", "x1x2", "sin_x2")))
    P, X = data.points_train, data.X_train
    np.testing.assert_allclose(X, np.column_stack([P[:, 0], P[:, 0] * P[:, 1], np.sin(P[:, 1])]))


# -------------------------------------------------------- frames over the socket
def client() -> TestClient:
    return TestClient(create_app(allowed_hosts=["testserver"]))


def receive(ws, kind: str, limit: int = 200) -> dict:
    """The next message of type ``kind`` (frames and others in between are skipped)."""
    for _ in range(limit):
        m = ws.receive_json()
        if m["type"] == kind:
            return m
    raise AssertionError(f"no {kind!r} message came")


def direct_run(s: Settings, epochs: int) -> tuple[object, list[float], list[float]]:
    """The library alone: the same data, weights and batches, Trainer.step by hand."""
    data = make_data(s)
    net = make_network(s)
    trainer = Trainer(net, s.optimizer, s.learning_rate)
    order_rng = np.random.default_rng(s.seed + 1)
    train, test = [net.loss(data.X_train, data.Y_train)], [net.loss(data.X_test, data.Y_test)]
    for _ in range(epochs):
        order = order_rng.permutation(len(data.X_train))
        for start in range(0, len(order), s.batch_size):
            rows = order[start : start + s.batch_size]
            trainer.step(data.X_train[rows], data.Y_train[rows])
        train.append(net.loss(data.X_train, data.Y_train))
        test.append(net.loss(data.X_test, data.Y_test))
    return net, train, test


HASH = "data=xor&points=200&hidden=4,3&act=tanh&lr=0.1&batch=16&seed=7"


def test_stepped_frames_equal_a_direct_trainer_run():
    s = from_hash(HASH)
    with client().websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "hash": HASH})
        setup = receive(ws, "setup")
        assert from_hash(setup["hash"]) == s and setup["sizes"] == [2, 4, 3, 2]
        frame = receive(ws, "frame")
        assert frame["epoch"] == 0
        for _ in range(5):
            ws.send_json({"type": "step"})
            frame = receive(ws, "frame")
    net, train, test = direct_run(s, 5)
    assert frame["epoch"] == 5
    assert frame["curve"]["train"] == pytest.approx(train, rel=1e-12)
    assert frame["test_loss"] == pytest.approx(test[-1], rel=1e-12)
    for W, sent in zip(net.W, frame["W"], strict=True):
        np.testing.assert_allclose(sent, W, atol=1e-6)  # sent rounded to 6 decimals
    # the heatmaps: one per unit of each layer, inputs included, and the output's K channels
    assert [len(layer) for layer in frame["units"]] == [2, 4, 3]
    grid = base64.b64decode(frame["output"]["grid"])
    assert len(grid) == setup["output_grid"] ** 2 * 2


def test_play_streams_frames_at_a_capped_rate_and_pause_stops_them():
    s = from_hash(HASH)
    with client().websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "hash": HASH})
        receive(ws, "frame")
        ws.send_json({"type": "play"})
        start, frames, frame = time.perf_counter(), 0, {"epoch": 0}
        while frame["epoch"] < 30:
            frame = receive(ws, "frame")
            frames += 1
        seconds = time.perf_counter() - start
        ws.send_json({"type": "pause"})
        while frame["playing"]:
            frame = receive(ws, "frame")
    assert frames <= 20 * seconds + 2  # MAX_FPS = 20
    _, _, test = direct_run(s, frame["epoch"])
    assert frame["curve"]["test"] == pytest.approx(test, rel=1e-12)


def test_errors_are_shown_in_the_page_and_the_socket_lives_on():
    with client().websocket_connect("/ws") as ws:
        ws.send_text("{not json")
        assert "not valid JSON" in receive(ws, "error")["message"]
        ws.send_json({"type": "step"})
        assert "hello" in receive(ws, "error")["message"]
        ws.send_json({"type": "hello", "hash": "lr=banana"})
        receive(ws, "setup")
        assert "defaults" in receive(ws, "error")["message"]
        ws.send_json({"type": "set_weight", "layer": 4, "to": 0, "from": 0, "value": 1.0})
        assert "layers 1 to 3" in receive(ws, "error")["message"]
        ws.send_json({"type": "set_weight", "layer": 1, "to": 7, "from": 0, "value": 1.0})
        assert "no unit there" in receive(ws, "error")["message"]
        ws.send_json({"type": "set", "changes": {"hidden": [9]}})
        assert "1 to 8 units" in receive(ws, "error")["message"]
        ws.send_bytes(b"\x00\x01")
        assert "JSON text" in receive(ws, "error")["message"]
        ws.send_json({"type": "step"})
        assert receive(ws, "frame")["epoch"] == 1


def test_editing_weights_and_settings():
    with client().websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "hash": HASH})
        receive(ws, "frame")
        ws.send_json({"type": "set_weight", "layer": 2, "to": 1, "from": 3, "value": 2.5})
        frame = receive(ws, "frame")
        assert frame["W"][1][1][3] == 2.5
        ws.send_json({"type": "set_bias", "layer": 1, "unit": 0, "value": -1.0})
        assert receive(ws, "frame")["b"][0][0] == -1.0
        ws.send_json({"type": "step"})
        before = receive(ws, "frame")["W"]
        # a training setting keeps the weights and the epoch; the hash follows
        ws.send_json({"type": "set", "changes": {"learning_rate": 0.3, "optimizer": "adam"}})
        m = receive(ws, "settings")
        assert "lr=0.3" in m["hash"] and "opt=adam" in m["hash"]
        frame = receive(ws, "frame")
        assert frame["W"] == before and frame["epoch"] == 1
        # a structural one starts a new run
        ws.send_json({"type": "set", "changes": {"hidden": [8], "activation": "relu"}})
        setup = receive(ws, "setup")
        assert setup["sizes"] == [2, 8, 2] and "act=relu" in setup["hash"]
        assert receive(ws, "frame")["epoch"] == 0


def test_the_lecture_view_is_deltaprops_trace_of_the_point():
    s = from_hash(HASH)
    with client().websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "hash": HASH})
        receive(ws, "frame")
        ws.send_json({"type": "inspect", "set": "test", "index": 4})
        m = receive(ws, "inspect")
    data, net = make_data(s), make_network(s)
    t = trace(net, data.X_test[4], data.Y_test[4], lr=s.learning_rate)
    for h in (1, 2):
        np.testing.assert_allclose(m["layers"][h - 1]["a"], t[f"a^({h})"][:, 0], atol=1e-6)
        np.testing.assert_allclose(m["layers"][h - 1]["z"], t[f"z^({h})"][:, 0], atol=1e-6)
        np.testing.assert_allclose(m["layers"][h - 1]["sigma_prime"], t[f"sigma'(a^({h}))"][:, 0], atol=1e-6)
        np.testing.assert_allclose(m["layers"][h - 1]["delta"], t[f"delta^({h})"][:, 0], atol=1e-6)
    np.testing.assert_allclose(m["layers"][2]["delta"], t["delta^(3)"][:, 0], atol=1e-6)
    assert "delta^(1) = sigma'(a^(1))" in m["trace"]


def test_export_gives_a_model_file_and_a_snippet_that_reproduces_the_run(tmp_path):
    with client().websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "hash": HASH + "&reg=l1&rate=0.001"})
        receive(ws, "frame")
        for _ in range(3):
            ws.send_json({"type": "step"})
        ws.send_json({"type": "set", "changes": {"learning_rate": 0.03}})
        ws.send_json({"type": "set_weight", "layer": 1, "to": 0, "from": 1, "value": 0.75})
        ws.send_json({"type": "step"})
        ws.send_json({"type": "export"})
        m = receive(ws, "export")
    path = tmp_path / m["model_name"]
    path.write_bytes(base64.b64decode(m["model"]))
    net = load(path)
    namespace: dict = {}
    exec(compile(m["snippet"], "playground_run.py", "exec"), namespace)
    for W, again in zip(net.W, namespace["net"].W, strict=True):
        np.testing.assert_array_equal(W, again)
    assert "0.75" in m["snippet"] and "range(3, 4)" in m["snippet"]


def test_only_the_pages_own_origin_and_hosts_get_in():
    app = client()
    with pytest.raises(WebSocketDisconnect):
        with app.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()
    with app.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
        ws.send_json({"type": "hello", "hash": ""})
        assert receive(ws, "setup")["hash"] == to_hash(Settings())
    assert TestClient(create_app()).get("/").status_code == 400  # "testserver" is not loopback
    page = app.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert app.get("/static/main.js").status_code == 200
    assert app.get("/static/../_server.py").status_code == 404


def test_a_diverging_run_stops_with_a_message():
    link = "data=plane&lr=10&act=identity&hidden=8,8&batch=1&points=100&features=x1,x2,x1^2,x2^2"
    session = Session(from_hash(link))
    for _ in range(40):
        session.step()
        if session.problem:
            break
    assert session.problem is not None and "diverged" in session.problem
    epoch = session.epoch
    session.step()
    assert session.epoch == epoch
    json.dumps(_finite(session.frame()), allow_nan=False)  # what the server sends


# ----------------------------------------------------------------- the command
def test_the_command_prints_the_url_opens_a_browser_and_warns_off_loopback(cli, monkeypatch):
    from deltaprop.playground import _server

    served, opened = [], []

    def fake_serve(host, port, on_ready):
        served.append((host, port))
        on_ready(f"http://{host}:{port}/")

    monkeypatch.setattr(_server, "serve", fake_serve)
    monkeypatch.setattr("webbrowser.open", opened.append)
    result = cli("playground", "--port", 8765)
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8765/" in result.output and "Warning" not in result.output
    assert served == [("127.0.0.1", 8765)] and opened == ["http://127.0.0.1:8765/"]
    result = cli("playground", "--host", "0.0.0.0", "--no-browser")
    assert result.exit_code == 0 and "Warning: --host 0.0.0.0" in result.output
    assert len(opened) == 1


def test_the_command_says_when_the_port_is_taken(cli):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("playground", "--port", port, "--no-browser")
    assert result.exit_code == 1 and f"Cannot listen on 127.0.0.1:{port}" in result.output


def test_at_most_eight_pages_at_once():
    app = client()
    with contextlib.ExitStack() as stack:
        for _ in range(8):
            ws = stack.enter_context(app.websocket_connect("/ws"))
            ws.send_json({"type": "hello", "hash": ""})
            receive(ws, "setup")
        with pytest.raises(WebSocketDisconnect):
            with app.websocket_connect("/ws") as ws:
                ws.receive_json()
    with app.websocket_connect("/ws") as ws:  # the others have closed
        ws.send_json({"type": "hello", "hash": ""})
        receive(ws, "setup")


def test_l1_adds_rate_times_the_sign_of_each_weight_and_l2_is_the_lectures_lambda():
    from deltaprop.playground import make_trainer

    s = from_hash("data=xor&points=50&hidden=3&lr=0.1&reg=l1&rate=0.01&batch=1000")
    data, net = make_data(s), make_network(s)
    expected = net.copy()
    grads = expected.backward(expected.forward(data.X_train), data.Y_train)
    make_trainer(net, s).step(data.X_train, data.Y_train)
    for W, W0, g in zip(net.W, expected.W, grads.W, strict=True):
        np.testing.assert_allclose(W, W0 - 0.1 * (g + 0.01 * np.sign(W0)), rtol=1e-12, atol=1e-15)
    l2 = make_trainer(make_network(s), from_hash("reg=l2&rate=0.01"))
    assert l2.l2 == 0.01


def test_long_runs_send_thinned_curves():
    session = Session(from_hash("data=gauss&points=40&hidden=2&batch=40"))
    for _ in range(500):
        session.step()
    curve = session.frame()["curve"]
    assert len(curve["epoch"]) <= 400 and curve["epoch"][0] == 0 and curve["epoch"][-1] == 500
    assert curve["train"][-1] == session.history["train"][-1]


def test_a_run_whose_loss_explodes_stops_before_it_overflows():
    session = Session(from_hash("data=bumps&hidden=&features=x1,x2,x1^2,x2^2,x1x2&lr=0.01"))
    for _ in range(30):
        session.step()
    assert session.problem is not None and "more than 1e+06 times its start" in session.problem
    assert np.isfinite(session.history["train"][-1])
