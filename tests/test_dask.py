"""deltaprop.dask: exact full-batch steps over Dask blocks, mini-batches streamed from them.

The clusters are real ``distributed.LocalCluster`` s on the loopback interface
(in-process workers here; one test with worker processes kills one mid-fit).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="deltaprop.dask needs the 'dask' extra")
distributed = pytest.importorskip("distributed", reason="deltaprop.dask needs the 'dask' extra")

import dask  # noqa: E402

import deltaprop.dask as ddp  # noqa: E402
from deltaprop import Network, Trainer, fit  # noqa: E402
from deltaprop.activations import Activation  # noqa: E402
from deltaprop.optim import apply_updates, gd, momentum  # noqa: E402
from deltaprop.train import Callback, DivergenceError  # noqa: E402

CHUNK = 60


def _cluster(**kwargs):
    options = {
        "n_workers": 2,
        "threads_per_worker": 1,
        "processes": False,
        "protocol": "tcp",
        "host": "127.0.0.1",
        "dashboard_address": ":0",
    }
    return distributed.LocalCluster(**(options | kwargs))


@pytest.fixture
def client():
    with _cluster() as cluster, distributed.Client(cluster) as c:
        yield c


def _problem(n=300, d=5, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.eye(K)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    return X, Y


def _net(sizes=(5, 8, 3), activation="tanh", **kwargs):
    return Network(list(sizes), activation=activation, random_state=0, **kwargs)


def _params(net):
    return [*net.W, *net.b]


def _bitwise(a, b):
    return all(
        x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(_params(a), _params(b), strict=True)
    )


def _blocks(A, size=CHUNK):
    return [A[i : i + size] for i in range(0, A.shape[0], size)]


def _in_memory_same_blocks(net, X, Y, lr, l2, steps, s=None):
    """GD over the blocks in memory, summed in the cluster's order: the bitwise oracle."""
    transform = gd(lr)
    state = transform.init(net.params)
    for _ in range(steps):
        _, grads = ddp.in_memory_loss_and_gradient(
            net, _blocks(X), _blocks(Y), l2, None if s is None else _blocks(s)
        )
        updates, state = transform.update(grads, state, net.params)
        net.params = apply_updates(net.params, updates)
    return net


# ------------------------------------------------------------ the exact sums
def test_block_sums_add_up_to_the_full_batch_loss_and_gradient():
    X, Y = _problem()
    net = _net()
    loss, grads = ddp.in_memory_loss_and_gradient(net, _blocks(X, 70), _blocks(Y, 70), l2=0.01)
    expected = net.backward(net.forward(X), Y, l2=0.01)
    assert loss == pytest.approx(net.loss(X, Y, l2=0.01), abs=1e-14)
    for g, e in zip([*grads.W, *grads.b], [*expected.W, *expected.b], strict=True):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-15)


def test_the_tree_sum_groups_by_position_only():
    assert ddp.tree_sum(list("abcdefghij"), lambda *p: "(" + "".join(p) + ")", 4) == "((abcd)(efgh)(ij))"
    with pytest.raises(ValueError, match="no rows"):
        ddp.tree_sum([], max)


def test_sample_weights_weigh_the_sums():
    X, Y = _problem()
    s = np.random.default_rng(1).uniform(0, 2, X.shape[0])
    net = _net()
    loss, grads = ddp.in_memory_loss_and_gradient(net, _blocks(X), _blocks(Y), 0.0, _blocks(s))
    expected = net.backward(net.forward(X), Y, sample_weight=s)
    assert loss == pytest.approx(net.loss(X, Y, sample_weight=s), abs=1e-14)
    np.testing.assert_allclose(grads.W[0], expected.W[0], rtol=0, atol=1e-15)


# ------------------------------------------------- bitwise across schedulers
def test_gd_steps_are_bitwise_equal_on_a_cluster_the_threaded_scheduler_and_in_memory(client):
    X, Y = _problem()
    steps, lr, l2 = 4, 0.3, 0.01
    on_cluster = _net()
    history = ddp.fit(on_cluster, da.from_array(X, chunks=CHUNK), Y, learning_rate=lr, l2=l2, epochs=steps)
    assert history.steps == steps and len(history.loss) == steps
    client.close()
    with dask.config.set(scheduler="threads"):
        threaded = _net()
        ddp.fit(threaded, da.from_array(X, chunks=CHUNK), Y, learning_rate=lr, l2=l2, epochs=steps)
        streamed = _net()  # the blocks recomputed from their source at every step
        ddp.fit(
            streamed, da.from_array(X, chunks=CHUNK), Y, learning_rate=lr, l2=l2, epochs=steps, persist=False
        )
    in_memory = _in_memory_same_blocks(_net(), X, Y, lr, l2, steps)
    assert _bitwise(on_cluster, threaded)
    assert _bitwise(on_cluster, streamed)
    assert _bitwise(on_cluster, in_memory)


def test_the_engine_s_block_sums_are_the_reference_s():
    rng = np.random.default_rng(3)
    X, Y = _problem(n=3000)  # more rows than a chunk of the engine's step
    s = rng.uniform(0.5, 1.5, X.shape[0])
    for activation in ("relu", "tanh"):  # the fused step and the split step
        net = _net(activation=activation)
        for weights in (None, s):
            want = ddp.block_sums(net, X, Y, weights, path="numpy")
            got = ddp.block_sums(net, X, Y, weights, path="engine")
            assert got.weight == want.weight and got.loss == pytest.approx(want.loss, rel=1e-12)
            for g, w in zip([*got.W, *got.b], [*want.W, *want.b], strict=True):
                np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-12)


def test_dask_objective_runs_the_engine_where_the_work_pays_for_it():
    X, Y = _problem()
    Xd = da.from_array(X, chunks=CHUNK)
    lazy = {"persist": False}  # nothing computed: only the choice
    assert ddp.DaskObjective(_net(), Xd, Y, **lazy).path == "numpy"  # one evaluation of 300 rows
    assert ddp.DaskObjective(_net(), Xd, Y, evaluations=100_000, **lazy).path == "engine"
    user = Network([5, 8, 3], activation=Activation("square", lambda a: a * a, lambda a, z: 2 * a))
    assert ddp.DaskObjective(user, Xd, Y, evaluations=100_000, **lazy).path == "numpy"  # not the engine's


def test_engine_steps_are_bitwise_equal_on_a_cluster_threaded_and_in_memory(client, monkeypatch):
    from deltaprop.dask import _objective

    monkeypatch.setattr(_objective, "engine_pays", lambda steps, work: True)  # as a long fit would
    X, Y = _problem()
    steps, lr, l2 = 4, 0.3, 0.01
    on_cluster = _net(activation="relu")
    ddp.fit(on_cluster, da.from_array(X, chunks=CHUNK), Y, learning_rate=lr, l2=l2, epochs=steps)
    client.close()
    with dask.config.set(scheduler="threads"):
        threaded = _net(activation="relu")
        ddp.fit(threaded, da.from_array(X, chunks=CHUNK), Y, learning_rate=lr, l2=l2, epochs=steps)
    in_memory = _net(activation="relu")
    transform = gd(lr)
    state = transform.init(in_memory.params)
    for _ in range(steps):
        _, grads = ddp.in_memory_loss_and_gradient(in_memory, _blocks(X), _blocks(Y), l2, path="engine")
        updates, state = transform.update(grads, state, in_memory.params)
        in_memory.params = apply_updates(in_memory.params, updates)
    reference = _net(activation="relu")
    fit(reference, X, Y, optimizer=Trainer(reference, "gd", lr, l2, path="numpy"), epochs=steps)
    assert _bitwise(on_cluster, threaded) and _bitwise(on_cluster, in_memory)
    for a, b in zip(_params(on_cluster), _params(reference), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_gd_steps_equal_the_ordinary_fit_within_1e_12(client):
    X, Y = _problem()
    s = np.random.default_rng(2).uniform(0.5, 1.5, X.shape[0])
    for kwargs in ({}, {"sample_weight": s}):
        net, ref = _net(), _net()
        dask_kwargs = {k: da.from_array(v, chunks=CHUNK) for k, v in kwargs.items()}
        h = ddp.fit(
            net, da.from_array(X, chunks=CHUNK), Y, learning_rate=0.5, l2=1e-3, epochs=6, **dask_kwargs
        )
        h_ref = fit(ref, X, Y, learning_rate=0.5, l2=1e-3, epochs=6, **kwargs)
        for a, b in zip(_params(net), _params(ref), strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        np.testing.assert_allclose(h.loss, h_ref.loss, rtol=0, atol=1e-12)
        np.testing.assert_allclose(h.grad_norms, h_ref.grad_norms, rtol=0, atol=1e-12)
        assert h.lr == h_ref.lr and h.steps == h_ref.steps == 6


def test_momentum_and_a_trainer_continue_like_the_ordinary_fit(client):
    X, Y = _problem()
    net, ref = _net(), _net()
    trainer = Trainer(net, "momentum", 0.2, 1e-3, beta=0.9)
    ddp.fit(net, da.from_array(X, chunks=CHUNK), da.from_array(Y, chunks=CHUNK), optimizer=trainer, epochs=3)
    ddp.fit(net, da.from_array(X, chunks=CHUNK), Y, optimizer=trainer, epochs=2)
    fit(ref, X, Y, optimizer=Trainer(ref, "momentum", 0.2, 1e-3, beta=0.9), epochs=5)
    assert trainer.steps == 5
    for a, b in zip(_params(net), _params(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert momentum(0.2).spec is not None


def test_float32_trains_in_float32(client):
    X, Y = _problem()
    net = _net(dtype="float32")
    ddp.fit(net, da.from_array(X, chunks=CHUNK), Y, epochs=2)
    assert all(p.dtype == np.float32 for p in _params(net))


def test_x_is_persisted_on_the_workers_and_not_part_of_a_steps_graph(client):
    X, Y = _problem()
    objective = ddp.DaskObjective(_net(), da.from_array(X, chunks=CHUNK), Y)
    data = objective.data
    distributed.wait([data.X, data.Y])
    keys = {key for block in data.blocks for key in (block[0].key, block[1].key)}
    held = set(client.who_has())
    assert {str(k) for k in keys} <= {str(k) for k in held}  # the blocks live on the workers
    assert len(data.X.dask) == data.X.npartitions  # a persisted array: one key per block, no source
    graph = dict(objective.graph(_net()).__dask_graph__())
    assert len(graph) == len(data.blocks) + 2  # the parameters, a block_sums per block, one add_sums
    needs = set().union(*(task.dependencies for task in graph.values()))
    assert {block[0].key for block in data.blocks} <= needs  # the blocks, by key


# -------------------------------------------------------------------- errors
def test_bad_input_names_the_culprit():
    X, Y = _problem()
    net = _net()
    with pytest.raises(ValueError, match="5 columns"):
        ddp.fit(net, da.from_array(X[:, :4], chunks=CHUNK), Y, epochs=1)
    with pytest.raises(ValueError, match="K"):
        ddp.fit(net, da.from_array(X, chunks=CHUNK), Y[:, :2], epochs=1)
    with pytest.raises(TypeError, match="Dask array"):
        ddp.fit(net, X, Y, epochs=1)
    with pytest.raises(ValueError, match="parallel"):
        ddp.fit(net, da.from_array(X, chunks=CHUNK), Y, batch_size=10, parallel="gpu")
    unknown = da.from_array(X, chunks=CHUNK)[da.from_array(X[:, 0] > 0, chunks=CHUNK)]
    with pytest.raises(ValueError, match="lengths=True"):
        ddp.fit(net, unknown, Y, epochs=1)
    with pytest.raises(TypeError, match="Trainer"):
        ddp.fit(net, da.from_array(X, chunks=CHUNK), Y, optimizer=Trainer(net), learning_rate=0.1)


def test_the_in_memory_fit_refuses_dask_arrays_and_says_where_to_go():
    X, Y = _problem()
    with pytest.raises(TypeError, match=r"deltaprop\.dask\.fit"):
        fit(_net(), da.from_array(X, chunks=CHUNK), Y)


def test_a_diverging_fit_raises_and_keeps_the_last_finite_parameters():
    X, Y = _problem()
    X = X * 1e200
    net = Network([5, 3], output="identity", random_state=0)
    with dask.config.set(scheduler="threads"), pytest.raises(DivergenceError):
        ddp.fit(net, da.from_array(X, chunks=CHUNK), Y, learning_rate=1e10, epochs=5)
    assert all(np.isfinite(p).all() for p in _params(net))


def test_ctrl_c_keeps_the_last_parameters():
    X, Y = _problem()

    class Interrupt(Callback):
        def on_epoch_end(self, epoch, history, net):
            if epoch == 1:
                self.kept = [p.copy() for p in _params(net)]
                raise KeyboardInterrupt

    stop = Interrupt()
    net = _net()
    with dask.config.set(scheduler="threads"):
        history = ddp.fit(net, da.from_array(X, chunks=CHUNK), Y, epochs=10, callbacks=[stop])
    assert history.stop_reason == "interrupted" and history.epochs == 2
    assert all(np.array_equal(a, b) for a, b in zip(_params(net), stop.kept, strict=True))


# ---------------------------------------------------------------- estimators
def _quiet_fit(model, X, y, **kwargs):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


def test_gd_regressor_on_dask_equals_it_on_numpy_within_1e_12(client):
    from deltaprop import MLPRegressor

    X, _ = _problem()
    y = np.column_stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]])
    options = {"hidden_layer_sizes": (7,), "solver": "gd", "max_iter": 8, "alpha": 1e-3, "random_state": 0}
    on_dask = _quiet_fit(
        MLPRegressor(**options), da.from_array(X, chunks=CHUNK), da.from_array(y, chunks=CHUNK)
    )
    in_memory = _quiet_fit(MLPRegressor(**options), X, y)
    for a, b in zip(
        on_dask.coefs_ + on_dask.intercepts_, in_memory.coefs_ + in_memory.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(on_dask.loss_curve_, in_memory.loss_curve_, rtol=0, atol=1e-12)
    assert on_dask.n_iter_ == in_memory.n_iter_ == 8 and on_dask.n_features_in_ == 5


def test_lbfgs_classifier_on_dask_equals_it_on_numpy_within_1e_8(client):
    from deltaprop import MLPClassifier

    X, Y = _problem()
    y = np.array(["low", "mid", "high"])[Y.argmax(axis=1)]
    options = {"hidden_layer_sizes": (6,), "solver": "lbfgs", "max_iter": 15, "random_state": 0}
    on_dask = _quiet_fit(
        MLPClassifier(**options), da.from_array(X, chunks=CHUNK), da.from_array(y, chunks=CHUNK)
    )
    in_memory = _quiet_fit(MLPClassifier(**options), X, y)
    assert list(on_dask.classes_) == list(in_memory.classes_) == ["high", "low", "mid"]
    assert on_dask.n_iter_ == in_memory.n_iter_
    for a, b in zip(
        on_dask.coefs_ + on_dask.intercepts_, in_memory.coefs_ + in_memory.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8)
    # predictions on a Dask array are a Dask array, computed block by block
    Xd = da.from_array(X, chunks=CHUNK)
    for method in ("predict", "predict_proba", "predict_log_proba", "transform"):
        lazy = getattr(on_dask, method)(Xd)
        assert isinstance(lazy, da.Array) and lazy.numblocks[0] == Xd.numblocks[0], method
        np.testing.assert_array_equal(lazy.compute(), getattr(on_dask, method)(X))
    np.testing.assert_array_equal(on_dask.transform(Xd, layer=2).compute(), on_dask.predict_proba(X))


def test_partial_fit_on_a_dask_array_is_one_partial_fit_per_block():
    from deltaprop import MLPClassifier

    X, Y = _problem()
    y = np.array(["a", "b", "c"])[Y.argmax(axis=1)]  # labels of any kind
    options = {"hidden_layer_sizes": (6,), "solver": "adam", "random_state": 0, "batch_size": 25}
    with dask.config.set(scheduler="threads"):
        blocks = MLPClassifier(**options).partial_fit(
            da.from_array(X, chunks=CHUNK), da.from_array(y, chunks=CHUNK), classes=["a", "b", "c"]
        )
    by_hand = MLPClassifier(**options)
    for Xb, yb in zip(_blocks(X), _blocks(y), strict=True):
        by_hand.partial_fit(Xb, yb, classes=["a", "b", "c"])
    assert blocks.t_ == by_hand.t_ == X.shape[0]
    for a, b in zip(blocks.coefs_, by_hand.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_stochastic_solvers_on_dask_fit_point_to_incremental_training():
    from deltaprop import MLPRegressor

    X, Y = _problem()
    with pytest.raises(ValueError, match="Incremental"):
        MLPRegressor(solver="adam").fit(da.from_array(X, chunks=CHUNK), da.from_array(Y, chunks=CHUNK))


# --------------------------------------------------------------- command line
def _table(n=240, seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    colour = rng.choice(["red", "blue", "green"], n)
    y = np.where(x[:, 0] + (colour == "red") > 0.3, "yes", "no")
    return pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1] * 3 + 1, "colour": colour, "y": y, "id": np.arange(n)})


def test_cli_trains_on_a_parquet_directory_with_the_preprocessing_learned_by_dask(cli, client, tmp_path):
    import pandas as pd

    from deltaprop.cli._data import load_model
    from deltaprop.preprocessing import Preprocessor

    frame = _table()
    folder = tmp_path / "rows"
    folder.mkdir()
    for i in range(3):
        frame.iloc[i * 80 : (i + 1) * 80].to_parquet(folder / f"part-{i}.parquet")
    address = client.scheduler.address
    result = cli(
        "train", folder, "--target", "y", "--drop", "id", "--out", tmp_path / "m.npz", "--dask", address,
        "--solver", "gd", "--lr", "0.5", "--epochs", "5", "--hidden", "4", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, (result.stdout, result.exception)
    shown = " ".join(result.stdout.split())
    assert "240 rows in 3 partition(s)" in shown and "full batch (exact)" in shown
    model = load_model(tmp_path / "m.npz")
    expected = Preprocessor.fit(frame.drop(columns="id"), "y")
    prep = model.preprocessor
    assert prep.columns == expected.columns and prep.categories == expected.categories
    assert prep.classes == expected.classes == ["no", "yes"]
    np.testing.assert_allclose(prep.mean, expected.mean, rtol=1e-12)
    np.testing.assert_allclose(prep.scale, expected.scale, rtol=1e-12)
    assert model.history.epochs == 5 and model.training["dask"] == address
    # the same 5 exact GD steps as an in-memory fit of the same network
    net = Network([prep.n_features, 4, 2], "relu", random_state=0)
    fit(net, expected.transform(frame), expected.encode_target(frame), learning_rate=0.5, epochs=5)
    for a, b in zip(_params(model.network), _params(net), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert isinstance(frame, pd.DataFrame)


def test_cli_streams_mini_batches_from_a_glob_of_csv_files(cli, client, tmp_path):
    frame = _table().drop(columns=["colour", "y"]).assign(r=lambda f: 2 * f.x0 - f.x1)
    for i in range(2):
        frame.iloc[i * 120 : (i + 1) * 120].to_csv(tmp_path / f"rows-{i}.csv", index=False)
    result = cli(
        "train", tmp_path / "rows-*.csv", "--target", "r", "--out", tmp_path / "r.npz",
        "--dask", client.scheduler.address, "--epochs", "2", "--batch-size", "50", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, (result.stdout, result.exception)
    shown = " ".join(result.stdout.split())
    assert "Task: regression" in shown and "batches of 50 streamed" in shown


def test_cli_dask_errors_are_one_line(cli, tmp_path):
    from deltaprop.cli._dask import parse_address
    from deltaprop.cli._errors import UserError

    assert parse_address("local") == ("local", None) and parse_address("local:3") == ("local", 3)
    assert parse_address("tcp://10.0.0.1:8786") == ("tcp://10.0.0.1:8786", None)
    for bad in ("local:0", "spark://x", "tcp://nohost"):
        with pytest.raises(UserError, match="--dask"):
            parse_address(bad)
    result = cli(
        "train", tmp_path / "none-*.csv", "--target", "y", "--out", tmp_path / "m.npz", "--dask", "x"
    )
    assert result.exit_code == 1 and "--dask" in (result.stderr or result.stdout)


# ------------------------------------------------------------- mini-batches
def test_client_mini_batches_follow_a_seeded_block_order_with_rows_shuffled_in_each_block():
    X, Y = _problem()
    rows = [CHUNK] * 5
    with dask.config.set(scheduler="threads"):
        net = _net()
        history = ddp.fit(
            net, da.from_array(X, chunks=CHUNK), Y, optimizer="adam", learning_rate=0.01,
            batch_size=16, epochs=2, random_state=7,
        )  # fmt: skip
    # the same steps by hand: a block order, then each block's rows permuted, from one generator
    ref = _net()
    trainer = Trainer(ref, "adam", 0.01)
    rng = np.random.default_rng(7)
    for _ in range(2):
        for j in rng.permutation(5):
            order = rng.permutation(rows[j])
            Xb, Yb = X[j * CHUNK : (j + 1) * CHUNK][order], Y[j * CHUNK : (j + 1) * CHUNK][order]
            for i in range(0, CHUNK, 16):
                trainer.step(Xb[i : i + 16], Yb[i : i + 16])
    assert history.steps == trainer.steps == 2 * 5 * 4
    assert _bitwise(net, ref)


def test_the_client_holds_at_most_two_blocks(monkeypatch):
    from deltaprop.dask import _stream

    X, Y = _problem()
    fetched = []
    real = _stream._fetch
    monkeypatch.setattr(_stream, "_fetch", lambda data, j: fetched.append(j) or real(data, j))
    data = ddp.check_blocks(_net(), da.from_array(X, chunks=CHUNK), Y, persist=False)
    seen = []
    with dask.config.set(scheduler="threads"):
        for block in ddp.stream_blocks(data, [3, 1, 4, 0, 2]):
            seen.append(block[0].shape[0])
            assert len(fetched) <= len(seen) + 1  # this block and the next one, never more
    assert fetched == [3, 1, 4, 0, 2] and seen == [CHUNK] * 5


def test_data_parallel_steps_sum_one_batch_from_each_worker(client):
    X, Y = _problem()
    kwargs = {"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 20, "epochs": 2, "parallel": "workers"}
    a, b = _net(), _net()
    ha = ddp.fit(a, da.from_array(X, chunks=CHUNK), Y, random_state=3, **kwargs)
    hb = ddp.fit(b, da.from_array(X, chunks=CHUNK), Y, random_state=3, persist=False, **kwargs)
    assert _bitwise(a, b) and ha.loss == hb.loss
    # 5 blocks in groups of 2 workers: (2 blocks, 3 steps), (2, 3), (1, 3) per epoch
    assert ha.steps == 2 * 9 and ha.loss[-1] < ha.loss[0]


def test_mini_batches_stream_from_a_parquet_directory(tmp_path):
    import dask.dataframe as dd
    import pandas as pd

    X, Y = _problem()
    for j, start in enumerate(range(0, 300, 100)):
        part = pd.DataFrame(X[start : start + 100], columns=[f"x{i}" for i in range(5)])
        part["y"] = Y[start : start + 100].argmax(axis=1)
        part.to_parquet(tmp_path / f"part-{j}.parquet")
    with dask.config.set(scheduler="threads"):
        frame = dd.read_parquet(tmp_path)
        table = frame.to_dask_array(lengths=True)  # one array, so that X and y share its blocks
        Xd, labels = table[:, :5], table[:, 5].astype(int)
        Yd = da.map_blocks(lambda y: np.eye(3)[y], labels, new_axis=1, chunks=(Xd.chunks[0], (3,)))
        net = _net()
        history = ddp.fit(
            net, Xd, Yd, optimizer="adam", learning_rate=0.02, batch_size=25, epochs=3, persist=False,
            random_state=0,
        )  # fmt: skip
    assert history.steps == 3 * 12 and history.loss[-1] < history.loss[0]


# ---------------------------------------------------------------- ecosystem
def test_grid_search_runs_under_joblibs_dask_backend(client):
    import joblib
    from sklearn.model_selection import GridSearchCV

    from deltaprop import MLPClassifier

    X, Y = _problem(n=120)
    search = GridSearchCV(
        MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=10, random_state=0),
        {"alpha": [1e-4, 1e-1]},
        cv=2,
    )
    with joblib.parallel_config(backend="dask"):
        _quiet_fit(search, X, Y.argmax(axis=1))
    assert set(search.cv_results_["param_alpha"]) == {1e-4, 1e-1}
    assert search.best_score_ > 0.6


def test_dask_ml_incremental_and_its_searches_train_through_partial_fit(client):
    wrappers = pytest.importorskip("dask_ml.wrappers", reason="dask-ml is not installed (optional)")
    model_selection = pytest.importorskip("dask_ml.model_selection", reason="dask-ml is not installed")
    from deltaprop import MLPClassifier

    X, Y = _problem()
    Xd, yd = da.from_array(X, chunks=CHUNK), da.from_array(Y.argmax(axis=1), chunks=CHUNK)
    base = MLPClassifier(hidden_layer_sizes=(6,), solver="adam", learning_rate_init=0.05, random_state=0)
    inc = wrappers.Incremental(base, scoring="accuracy").fit(Xd, yd, classes=[0, 1, 2])
    assert inc.estimator_.t_ == X.shape[0]
    assert isinstance(inc.predict(Xd), da.Array)
    params = {"alpha": [1e-4, 1e-2], "learning_rate_init": [0.01, 0.05]}
    for search in (
        model_selection.IncrementalSearchCV(
            base, params, n_initial_parameters=2, max_iter=3, decay_rate=None, random_state=0
        ),
        model_selection.HyperbandSearchCV(base, params, max_iter=3, random_state=0),
    ):
        try:
            search.fit(Xd, yd, classes=[0, 1, 2])
        except RuntimeError as error:  # dask-ml's own coroutine calling dask.persist, any estimator
            if "asynchronous Client in a synchronous context" not in str(error):
                raise
            if os.environ.get("DELTAPROP_REQUIRE_DASK_ML"):  # make test-dask-ml: a Dask it supports
                raise
            pytest.skip(
                f"dask-ml's {type(search).__name__} does not run on this Dask version ({dask.__version__}; "
                f"`make test-dask-ml` runs it on the last one it supports): {error}"
            )
        assert search.best_score_ > 0.3 and hasattr(search.best_estimator_, "coefs_")


# -------------------------------------------------------------------- faults
def test_a_worker_killed_mid_fit_does_not_lose_the_fit():
    import os
    import signal

    X, Y = _problem()
    steps, lr = 6, 0.3

    class KillOne(Callback):
        def __init__(self, cluster):
            self.cluster = cluster
            self.killed = None

        def on_epoch_end(self, epoch, history, net):
            if epoch == 2:
                nanny = next(iter(self.cluster.workers.values()))
                self.killed = nanny.process.process.pid
                os.kill(self.killed, signal.SIGKILL)

    with _cluster(processes=True, silence_logs=50) as cluster, distributed.Client(cluster):
        killer = KillOne(cluster)
        net = _net()
        history = ddp.fit(
            net, da.from_array(X, chunks=CHUNK), Y, learning_rate=lr, epochs=steps, callbacks=[killer]
        )
    assert killer.killed is not None and history.steps == steps
    # the lost blocks were recomputed: the same bits as the same blocks summed in memory
    assert _bitwise(net, _in_memory_same_blocks(_net(), X, Y, lr, 0.0, steps))


def test_cli_starts_and_closes_a_local_cluster(cli, tmp_path):
    frame = _table(n=60).drop(columns="colour")
    frame.to_csv(tmp_path / "rows.csv", index=False)
    result = cli(
        "train", tmp_path / "rows.csv", "--target", "y", "--out", tmp_path / "m.npz", "--dask", "local:1",
        "--solver", "gd", "--epochs", "2", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, (result.stdout, result.exception)
    shown = " ".join(result.stdout.split())
    assert "a local cluster of 1 worker process(es)" in shown and "Trained 2 epochs" in shown
    try:
        leftover = distributed.default_client()
    except ValueError:
        leftover = None
    assert leftover is None or leftover.status != "running"  # the CLI closed its client and cluster
