"""Training on Dask: seconds per full-batch step, overhead over in-memory, 2 workers' speed-up, out of core.

    python benchmarks/bench_dask.py                          # W3 and the 2,000,000 x 100 case, out of core
    python benchmarks/bench_dask.py --big-rows 400000 --ooc-rows 600000 --steps 5   # on a busy machine
    python benchmarks/bench_dask.py --markdown FILE          # also write the results as Markdown

Full batch (the lecture's GD, 100-100-5 softmax, float64): one step of the in-memory
``Trainer`` (deltaprop.train.fit's step), then ``deltaprop.dask.fit`` on the threaded
scheduler and on a ``LocalCluster`` of 1 and 2 worker processes (one thread each),
the array cut into ``--blocks`` row blocks and persisted.  Per-block cost: one
``block_sums`` in this process; per-message cost: a step over one tiny block (the
broadcast, the tasks, the reduction and the round trips, with no arithmetic to speak of).

Out of core: a Parquet directory of ``--ooc-rows`` x 50 written to a temporary folder,
trained by mini-batch SGD streamed to the client (``persist=False``) in a subprocess
whose address space is limited (``resource.setrlimit(RLIMIT_AS)``) to what its imports
mapped plus ``--ooc-memory-mb``, and which reports its peak RSS (sampled with psutil)
beside the size of the data.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _data(n: int, d: int, K: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    teacher = rng.normal(size=(d, K))
    return X, np.eye(K)[(X @ teacher).argmax(axis=1)]


def _per_step(run, steps: int) -> float:
    run(1)  # warm: compile, persist, first broadcast
    started = time.perf_counter()
    run(steps)
    return (time.perf_counter() - started) / steps


def full_batch(n: int, blocks: int, steps: int) -> dict[str, float]:
    import dask
    import dask.array as da
    import distributed
    from threadpoolctl import threadpool_limits

    import deltaprop.dask as ddp
    from deltaprop import Network, Trainer
    from deltaprop.dask import block_sums

    chunk = -(-n // blocks)
    teacher = np.random.default_rng(1).normal(size=(100, 5))

    def arrays() -> tuple[da.Array, da.Array]:
        """The data made on the workers (never shipped in a graph): Gaussian X, a linear teacher's Y."""
        Xd = da.random.default_rng(0).normal(size=(n, 100), chunks=(chunk, 100))
        Yd = da.map_blocks(
            lambda x: np.eye(5)[(x @ teacher).argmax(axis=1)], Xd, chunks=(Xd.chunks[0], (5,)), dtype=float
        )
        return Xd, Yd

    with dask.config.set(scheduler="threads"):
        X, Y = dask.compute(*arrays())  # the same numbers, in this process, for the in-memory fit
    net = Network([100, 100, 5], activation="relu", random_state=0)
    results: dict[str, float] = {"rows": n, "blocks": blocks, "GB": X.nbytes / 1e9}

    trainer = Trainer(net.copy(), "gd", 0.1)

    def in_memory(k: int) -> None:
        for _ in range(k):
            trainer.step(X, Y)

    results["in-memory"] = _per_step(in_memory, steps)
    with threadpool_limits(limits=1):  # as a 1-thread worker computes
        results["in-memory 1 thread"] = _per_step(in_memory, steps)
    # one block's sums as the workers compute them: the path DaskObjective chooses for this fit
    path = ddp.DaskObjective(net, da.from_array(X, chunks=chunk), Y, persist=False, evaluations=steps).path
    results["path"] = path  # type: ignore[assignment]
    block_sums(net, X[:chunk], Y[:chunk], path=path)
    started = time.perf_counter()
    for _ in range(3):
        block_sums(net, X[:chunk], Y[:chunk], path=path)
    results["per-block"] = (time.perf_counter() - started) / 3

    def on_dask(k: int) -> None:
        ddp.fit(target, Xd, Yd, learning_rate=0.1, epochs=k)

    with dask.config.set(scheduler="threads"):
        target = net.copy()
        Xd, Yd = dask.persist(*arrays())
        results["threads"] = _per_step(on_dask, steps)
        del Xd, Yd
    for workers in (1, 2):
        with (
            distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=":0",
                silence_logs=50,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            target = net.copy()
            Xd, Yd = client.persist(list(arrays()))
            distributed.wait([Xd, Yd])
            results[f"{workers} worker(s)"] = _per_step(on_dask, steps)
            if workers == 2:  # the fixed cost of a step: one tiny block per worker
                Xd, Yd = (
                    client.persist(da.from_array(X[:20], chunks=(10, 100))),
                    client.persist(da.from_array(Y[:20], chunks=(10, 5))),
                )
                results["per-message step"] = _per_step(on_dask, steps)
    return results


OOC_CHILD = r"""
import json, resource, sys, threading, time
import psutil
sys.path.insert(0, {src!r})
import dask, dask.array as da, dask.dataframe as dd, numpy as np, pandas, pyarrow
import deltaprop.dask as ddp
from deltaprop import Network
process = psutil.Process()
budget = {budget_mb} * 2**20
if budget:  # the address space after the imports, plus the budget: a hard limit on what the fit can map
    limit = process.memory_info().vms + budget
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
with dask.config.set(scheduler="threads"):
    table = dd.read_parquet({folder!r}).to_dask_array(lengths={lengths!r})
    X, labels = table[:, :50], table[:, 50].astype(int)
    Y = da.map_blocks(lambda y: np.eye(5)[y], labels, new_axis=1, chunks=(X.chunks[0], (5,)))
    net = Network([50, 64, 5], activation="relu", random_state=0)
    before = process.memory_info().rss
    peak = [before]
    done = threading.Event()
    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss)
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        history = ddp.fit(net, X, Y, optimizer="sgd", learning_rate=0.01, batch_size=256, epochs=1,
                          persist=False, random_state=0)
    finally:  # a MemoryError under the limit ends the child with its traceback, never a hang
        done.set()
        watcher.join()
    seconds = time.perf_counter() - started
print(json.dumps({{"rows": int(X.shape[0]), "seconds": seconds, "peak_rss_MB": peak[0] / 1e6,
                   "rss_before_fit_MB": before / 1e6, "loss": history.loss[-1],
                   "blocks": len(X.chunks[0]), "budget_MB": budget / 2**20}}))
"""


def out_of_core(rows: int, files: int, budget_mb: int) -> dict[str, float]:
    import pandas as pd

    with tempfile.TemporaryDirectory() as folder:
        per_file = -(-rows // files)
        rng = np.random.default_rng(1)
        teacher = rng.normal(size=(50, 5))
        for j in range(files):
            X = rng.normal(size=(per_file, 50))
            frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(50)])
            frame["y"] = (X @ teacher).argmax(axis=1)
            frame.to_parquet(Path(folder) / f"part-{j:03d}.parquet")
        size = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6
        lengths = [per_file] * files
        code = OOC_CHILD.format(src=str(ROOT / "src"), folder=folder, lengths=lengths, budget_mb=budget_mb)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode != 0:  # e.g. a MemoryError: the budget is too small for a block
            raise SystemExit(f"the out-of-core fit failed:\n{out.stderr.strip()[-2000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    result["files_MB"] = size
    result["data_MB_float64"] = rows * 51 * 8 / 1e6
    result["rows_per_second"] = result["rows"] / result["seconds"]
    return result


def markdown(results: list[dict[str, float]], ooc: dict[str, float] | None, load: str) -> str:
    lines = [
        f"Load while measuring: {load}. Ratios are within one run.",
        "",
        "| data | blocks | in-memory (2 / 1 BLAS threads) | threaded scheduler | 1 worker | 2 workers "
        "| overhead: 1 worker - in-memory 1 thread | 2 workers' speed-up over 1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        one, two, alone = r["1 worker(s)"], r["2 worker(s)"], r["in-memory 1 thread"]
        lines.append(
            f"| {int(r['rows'])} x 100 ({r['GB']:.2f} GB) | {int(r['blocks'])} "
            f"| {r['in-memory']:.3f} / {alone:.3f} s | {r['threads']:.3f} s | {one:.3f} s | {two:.3f} s "
            f"| {one - alone:+.3f} s | {one / two:.2f}x |"
        )
    lines.append("")
    for r in results:
        lines.append(
            f"- {int(r['rows'])} rows: one block's sums ({r.get('path', 'numpy')} path) "
            f"{r['per-block'] * 1e3:.1f} ms; a step over one "
            f"tiny block per worker (2 workers) {r['per-message step'] * 1e3:.1f} ms."
        )
    if ooc:
        lines += [
            "",
            f"Out of core: {int(ooc['rows'])} x 50 rows in {int(ooc['blocks'])} Parquet files "
            f"({ooc['files_MB']:.0f} MB on disk, {ooc['data_MB_float64']:.0f} MB as float64), one epoch "
            f"of SGD (batch 256) streamed to the client: {ooc['seconds']:.1f} s, "
            f"{ooc['rows_per_second']:.0f} rows/s; peak RSS {ooc['peak_rss_MB']:.0f} MB "
            f"during the fit, {ooc['rss_before_fit_MB']:.0f} MB just before it (Python, NumPy, pandas, "
            "pyarrow, Dask loaded)"
            + (
                f"; the process's address space limited (RLIMIT_AS) to what the imports had mapped plus "
                f"{ooc['budget_MB']:.0f} MiB; the data is {ooc['data_MB_float64'] / ooc['budget_MB']:.1f} "
                "times that."
                if ooc["budget_MB"]
                else "."
            ),
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--big-rows", type=int, default=2_000_000, help="rows of the large case (1.6 GB at 2e6)"
    )
    parser.add_argument("--blocks", type=int, default=8, help="row blocks of each array")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per contender")
    parser.add_argument(
        "--ooc-rows", type=int, default=3_000_000, help="rows of the out-of-core Parquet data"
    )
    parser.add_argument(
        "--ooc-files", type=int, help="Parquet files (row blocks) of the out-of-core data; 25000 rows each"
    )
    parser.add_argument(
        "--ooc-memory-mb",
        type=int,
        default=512,
        help="address space the out-of-core fit may map beyond its imports (RLIMIT_AS; 0: no limit)",
    )
    parser.add_argument("--no-ooc", action="store_true")
    parser.add_argument("--only-ooc", action="store_true")
    parser.add_argument("--markdown", type=Path, help="write the results as Markdown here")
    args = parser.parse_args()
    load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    results = []
    if not args.only_ooc:
        results = [full_batch(n, args.blocks, args.steps) for n in (20_000, args.big_rows)]
    for r in results:
        print(json.dumps(r))
    files = args.ooc_files or -(-args.ooc_rows // 25_000)
    ooc = None if args.no_ooc else out_of_core(args.ooc_rows, files, args.ooc_memory_mb)
    if ooc:
        print(json.dumps(ooc))
    text = markdown(results, ooc, load + f" (start), {os.getloadavg()[0]:.1f} (end)")
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
