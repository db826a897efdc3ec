"""Benchmark of `meshsim generate` and of loading a store, on poisson_random_domains at ~5k nodes.

Generation: a naive single-process loop (sample, then one .npz file per sample) against
`meshsim.data.generate` with 1 and 2 local worker processes and through a 2-worker Dask
LocalCluster (worker processes), all on the same samples. Loading: graphs/s through a
torch_geometric DataLoader (2 worker processes, shuffled) over the generated store, and over a
store of the recipe's small default meshes.

    python tools/bench_generate.py          # 96 samples per run, a few minutes on 2 cores
    python tools/bench_generate.py --full   # 384 samples per run

Prints one JSON object as the last line: naive_samples_per_s, samples_per_s_1, samples_per_s_2,
efficiency (samples_per_s_2 / (2 samples_per_s_1)), dask_samples_per_s, loader_graphs_per_s,
plus mean_nodes, loader_graphs_per_s_in_process (no loader workers), loader_graphs_per_s_small
(default recipe, mean_nodes_small), and the machine's 1-minute load average at the end (other
processes share the cores: compare rates within one run only). Worker start-up (imports) counts in the 2-worker and Dask
rates, as it does for a user; the in-process runs are warmed up first.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from meshsim.data import PROBLEMS, generate, load_recipe, sample_seed

#: element size giving ~5k nodes per random domain of the default size
H_5K = 0.019


def _naive(recipe, folder: Path) -> float:
    """Samples/s of the obvious loop: draw, solve, save each sample to its own .npz file."""
    problem = PROBLEMS[recipe.problem]
    folder.mkdir()
    problem.sample(recipe.params, np.random.default_rng(0))  # imports and gmsh start-up, untimed
    start = time.perf_counter()
    for index in range(recipe.splits["train"]):
        sample = problem.sample(recipe.params, np.random.default_rng(sample_seed(recipe.seed, "train", index)))
        np.savez(folder / f"{index}.npz", points=sample.points, cells=sample.cells, **sample.fields)
    return recipe.num_samples / (time.perf_counter() - start)


def _generate(recipe, folder: Path, **kwargs) -> float:
    start = time.perf_counter()
    generate(recipe, folder, progress=False, **kwargs)
    return recipe.num_samples / (time.perf_counter() - start)


def _dask(recipe, folder: Path) -> float:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        return _generate(recipe, folder, scheduler=client)


def _loader(folder: Path, epochs: int, workers: int = 2) -> tuple[float, float]:
    """(graphs/s over ``epochs`` shuffled epochs in batches of 32 with ``workers`` loader
    processes, mean nodes per graph)."""
    import torch
    from torch_geometric.loader import DataLoader

    from meshsim.data import open as open_dataset

    torch.set_num_threads(1)  # as in DataLoader workers; two threads on two busy cores thrash
    dataset = open_dataset(folder, split="train")
    loader = DataLoader(dataset, batch_size=32, shuffle=True, num_workers=workers, persistent_workers=workers > 0)
    for _ in loader:  # start the workers and open the shards
        pass
    start, graphs, nodes = time.perf_counter(), 0, 0
    for _ in range(epochs):
        for batch in loader:
            graphs += batch.num_graphs
            nodes += batch.num_nodes
    return graphs / (time.perf_counter() - start), nodes / graphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="384 samples per run instead of 96")
    args = parser.parse_args()
    count = 384 if args.full else 96
    base = load_recipe("poisson_random_domains")
    recipe = dataclasses.replace(base, params=dataclasses.replace(base.params, h=H_5K), samples_per_shard=2,
                                 splits={"train": count})
    work = Path(tempfile.mkdtemp(prefix="bench_generate_"))
    try:
        naive = _naive(recipe, work / "naive")
        print(f"naive loop: {naive:.2f} samples/s", flush=True)
        one = _generate(recipe, work / "one", workers=1)
        print(f"1 worker: {one:.2f} samples/s", flush=True)
        two = _generate(recipe, work / "two", workers=2)
        print(f"2 workers: {two:.2f} samples/s", flush=True)
        dask = _dask(recipe, work / "dask")
        print(f"dask, 2 workers: {dask:.2f} samples/s", flush=True)
        same = all((work / "one" / f.name).read_bytes() == f.read_bytes() for f in (work / "two").glob("shard-*.h5"))
        print(f"1-worker and 2-worker shards bit-identical: {same}", flush=True)
        loader, nodes = _loader(work / "one", epochs=4)
        print(f"loader, 2 workers: {loader:.0f} graphs/s at {nodes:.0f} nodes per graph", flush=True)
        in_process, _ = _loader(work / "one", epochs=4, workers=0)
        print(f"loader, no workers: {in_process:.0f} graphs/s", flush=True)
        small = base.with_overrides(num_samples=320)
        generate(small, work / "small", workers=2, progress=False)
        loader_small, nodes_small = _loader(work / "small", epochs=4)
        print(f"loader, 2 workers: {loader_small:.0f} graphs/s at {nodes_small:.0f} nodes per graph", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"naive_samples_per_s": round(naive, 3), "samples_per_s_1": round(one, 3),
                      "samples_per_s_2": round(two, 3), "efficiency": round(two / (2 * one), 3),
                      "dask_samples_per_s": round(dask, 3), "loader_graphs_per_s": round(loader, 1),
                      "mean_nodes": round(nodes), "loader_graphs_per_s_in_process": round(in_process, 1),
                      "loader_graphs_per_s_small": round(loader_small, 1),
                      "mean_nodes_small": round(nodes_small), "samples": count, "bit_identical": same,
                      "load_average_1m": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
