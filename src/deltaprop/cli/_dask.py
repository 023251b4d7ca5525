"""``deltaprop train DATA --dask local[:N] | tcp://host:port``: training on a Dask cluster.

DATA is a Parquet directory, or a file or glob of CSV or Parquet files, read lazily by
``dask.dataframe``.  One pass over it (all statistics computed together, so the files
are read once) gives the preprocessing: the distinct values of the categorical columns
and of a non-real target, the means and standard deviations of the numeric columns,
the missing values and the rows of each partition.  :meth:`Preprocessor.fit` then runs
on a small table of those distinct values (so that task detection, the column checks
and the category rules are the ones of an in-memory run), and the Dask statistics
replace its means and scales.  Each partition is transformed on the workers where it
is read; the network trains by :func:`deltaprop.dask.fit` (full batch for ``--solver
gd``, else mini-batches streamed to this process); the model file is the same as
without ``--dask``.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.delayed import delayed
from rich.console import Console
from rich.markup import escape

from deltaprop.checkpoint import Checkpointer
from deltaprop.cli._data import TrainedModel, save_model
from deltaprop.cli._errors import UserError, user_input
from deltaprop.cli._options import TrainOptions
from deltaprop.cli._parse import parse_batch_size
from deltaprop.cli._train import build_network, check_locations, check_options, new_trainer, trained_model
from deltaprop.dask import fit
from deltaprop.preprocessing import Preprocessor
from deltaprop.train import Callback

LOCAL = "local"
# Options of an in-memory run that a Dask run does not take, and why.
NOT_WITH_DASK = {
    "resume": "--resume",
    "report": "--report",
    "early_stopping": "--early-stopping",
}


# ------------------------------------------------------------------ cluster
def parse_address(text: str) -> tuple[str, int | None]:
    """``local`` / ``local:N`` -> ("local", N or None); ``tcp://host:port`` -> (the address, None)."""
    cleaned = text.strip()
    if cleaned == LOCAL:
        return LOCAL, None
    if cleaned.startswith(LOCAL + ":"):
        count = cleaned[len(LOCAL) + 1 :]
        if count.isdigit() and int(count) >= 1:
            return LOCAL, int(count)
        raise UserError(f"--dask local:N needs a positive number of workers N; got {text!r}.")
    if cleaned.startswith(("tcp://", "tls://", "ucx://")) and ":" in cleaned.split("://", 1)[1]:
        return cleaned, None
    raise UserError(
        f"--dask takes 'local', 'local:N' (a local cluster of N workers) or a scheduler address "
        f"'tcp://host:port'; got {text!r}."
    )


@contextlib.contextmanager
def connect(text: str, console: Console) -> Iterator[Any]:
    """A distributed Client: on a new LocalCluster (closed afterwards) or on the scheduler at an address."""
    from distributed import Client, LocalCluster

    address, workers = parse_address(text)
    with contextlib.ExitStack() as stack:
        if address == LOCAL:
            n = workers or os.cpu_count() or 1
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                    silence_logs=logging.ERROR,
                )
            )
            console.print(f"Dask: a local cluster of {n} worker process(es), one thread each.")
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(address, timeout=10))
            except OSError as error:
                raise UserError(f"--dask: cannot reach the Dask scheduler at {address}: {error}") from None
            console.print(f"Dask: joined the scheduler at {escape(address)}.")
        if "dashboard" in client.scheduler_info().get("services", {}):
            console.print(f"Dask dashboard: {escape(client.dashboard_link)}")
        yield client


# --------------------------------------------------------------------- data
def read_frame(data: Path) -> dd.DataFrame:
    """DATA as a lazy Dask DataFrame: a Parquet directory, or a CSV/Parquet file or glob."""
    text = str(data)
    if data.is_dir():
        reader, source = dd.read_parquet, text
    else:
        matches = sorted(glob.glob(text))
        if not matches:
            raise UserError(f"No such file or directory, and no file matches '{text}'.")
        endings = {Path(m).name.lower().rsplit(".", 1)[-1] for m in matches}
        if endings <= {"csv"}:
            reader, source = dd.read_csv, text
        elif endings <= {"parquet", "pq"}:
            reader, source = dd.read_parquet, text
        else:
            raise UserError(
                f"'{text}' matches files of kinds {sorted(endings)}; --dask reads .csv or .parquet files, "
                "one kind at a time."
            )
    try:
        return reader(source)
    except Exception as error:  # dask, pandas and pyarrow raise many kinds
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"Cannot read '{text}': {first_line}") from None


def _is_real(dtype: Any) -> bool:
    return bool(pd.api.types.is_float_dtype(dtype))


def _is_number(dtype: Any) -> bool:
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    )


def learn_preprocessing(
    frame: dd.DataFrame, opts: TrainOptions, console: Console
) -> tuple[Preprocessor, list[int]]:
    """The preprocessing of ``frame`` from one pass over it, and the rows of each partition."""
    target = opts.target
    if target not in frame.columns:
        raise UserError(
            f"The target column {target!r} is not in '{opts.data}'; its columns are {list(frame.columns)}."
        )
    dropped = [c.strip() for c in opts.drop.split(",") if c.strip()]
    unknown = [c for c in dropped if c not in frame.columns or c == target]
    if unknown:
        raise UserError(f"--drop names {unknown}, which are not feature columns of '{opts.data}'.")
    frame = frame.drop(columns=dropped)
    dtypes = frame.dtypes
    features = [c for c in frame.columns if c != target]
    numeric = [c for c in features if _is_number(dtypes[c])]
    listed = [c for c in features if c not in numeric]
    real_target = _is_real(dtypes[target]) and (opts.task is None or opts.task.value == "regression")
    if not real_target:
        listed.append(target)
    wanted: dict[str, Any] = {
        "rows": frame.map_partitions(len),
        "missing": frame.isna().sum(),
        "distinct": {c: frame[c].dropna().drop_duplicates(split_out=1) for c in listed},
    }
    if numeric:
        wanted["mean"] = frame[numeric].mean()
        wanted["std"] = frame[numeric].std(ddof=0)
    if _is_number(dtypes[target]):
        wanted["target"] = (frame[target].mean(), frame[target].std(ddof=0))
    started = time.perf_counter()
    with user_input():
        (stats,) = dask.compute(wanted)
    rows = [int(r) for r in stats["rows"]]
    console.print(
        f"Read {sum(rows)} rows in {len(rows)} partition(s) in {time.perf_counter() - started:.1f} s."
    )
    missing = {c: int(k) for c, k in stats["missing"].items() if k}
    if missing:
        raise UserError(
            f"The data has missing values (column: count) {missing}; --dask refuses them (--missing impute "
            "needs medians, which one pass does not give): fill or drop them first."
        )
    # A small table with each column's distinct values (numbers: their mean) for Preprocessor.fit.
    height = max([1, *(len(v) for v in stats["distinct"].values())])
    columns: dict[str, Any] = {}
    for c in [*features, target]:
        if c in stats["distinct"]:
            values = stats["distinct"][c].reset_index(drop=True)
            columns[c] = values.iloc[np.arange(height) % max(len(values), 1)].reset_index(drop=True)
        else:
            mean = stats["target"][0] if c == target else stats["mean"][c]
            columns[c] = pd.Series(np.full(height, mean, dtype=dtypes[c]))
    summary = pd.DataFrame(columns)
    with user_input():
        prep = Preprocessor.fit(summary, target, task=None if opts.task is None else opts.task.value)
    if prep.numeric:
        prep.mean = stats["mean"][prep.numeric].to_numpy(dtype=np.float64)
        std = stats["std"][prep.numeric].to_numpy(dtype=np.float64)
        prep.scale = np.where(std > 0, std, 1.0)
    if prep.task == "regression":
        mean, std = (float(v) for v in stats["target"])
        prep.target_mean, prep.target_scale = mean, std if std > 0 else 1.0
    console.print(f"Task: [bold]{prep.task}[/bold]. Preprocessing: {escape(prep.summary())}.")
    if prep.classes is not None:
        console.print(f"Classes: {escape(', '.join(str(c) for c in prep.classes))}.")
    return prep, rows


def arrays(frame: dd.DataFrame, prep: Preprocessor, rows: list[int], K: int) -> tuple[da.Array, da.Array]:
    """X (n, d) and Y (n, K) as Dask arrays: each partition transformed where it is read."""
    d = prep.n_features
    parts = frame.to_delayed()
    X = [
        da.from_delayed(delayed(prep.transform)(p), (r, d), dtype=np.float64)
        for p, r in zip(parts, rows, strict=True)
    ]
    Y = [
        da.from_delayed(delayed(prep.encode_target)(p, K), (r, K), dtype=np.float64)
        for p, r in zip(parts, rows, strict=True)
    ]
    return da.concatenate(X), da.concatenate(Y)


# ---------------------------------------------------------------------- run
def run_train_dask(opts: TrainOptions, console: Console) -> TrainedModel:
    """``deltaprop train --dask``: connect, learn the preprocessing in one pass, train, save the model."""
    started = time.perf_counter()
    for field, option in NOT_WITH_DASK.items():
        if getattr(opts, field):
            raise UserError(f"{option} is not available with --dask.")
    if opts.missing.value != "refuse":
        raise UserError("--missing impute is not available with --dask: fill or drop missing values first.")
    hidden, activation = check_options(opts)
    check_locations(opts)  # the model file and checkpoint can be written, before any work
    rng = np.random.default_rng(opts.seed)
    with connect(opts.dask or LOCAL, console):
        frame = read_frame(opts.data)
        prep, rows = learn_preprocessing(frame, opts, console)
        net = build_network(opts, prep, hidden, activation)
        K = net.sizes[-1]
        X, Y = arrays(frame, prep, rows, K)
        n = int(X.shape[0])
        full = opts.solver.value == "gd" and opts.batch_size.strip().lower() in ("auto", "full")
        batch_size = parse_batch_size(opts.batch_size, opts.solver.value, n)
        trainer = new_trainer(opts, net, batch_size, math.ceil(n / batch_size))
        if opts.validation:
            console.print("Validation: none with --dask (all rows train); evaluate on held-out files.")
        steps = "full batch (exact)" if full else f"batches of {batch_size} streamed"
        console.print(
            f"Network {net.sizes} ({escape(str(activation))} hidden, {net.output.name} output), "
            f"{opts.solver.value} with learning rate {opts.lr:g}, {steps}, lambda {trainer.l2:g}; "
            f"{n} rows in {len(rows)} blocks."
        )
        callbacks: list[Callback] = []
        if opts.checkpoint is not None:
            opts.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            callbacks.append(Checkpointer(opts.checkpoint, every=1))
        history = fit(
            net,
            X,
            Y,
            optimizer=trainer,
            epochs=opts.epochs,
            batch_size=None if full else batch_size,
            random_state=rng,
            persist=full,  # mini-batches stream each block from the files, once per epoch
            callbacks=callbacks,
            verbose=not opts.quiet,
        )
    model = trained_model(opts, net, prep, history, trainer, batch_size, console, dask=opts.dask)
    save_model(model, opts.out)
    console.print(
        f"Trained {history.epochs} epochs ({history.stop_reason}) in {time.perf_counter() - started:.1f} s: "
        f"loss {history.loss[-1]:.4f}.\nSaved the model to [bold]{escape(str(opts.out))}[/bold]."
    )
    return model
