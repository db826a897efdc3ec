"""Benchmark of `meshsim generate` and of loading a store, on poisson_random_domains at ~5k nodes.

Generation: a naive single-process loop (sample, then one .npz file per sample) against
`meshsim.data.generate` with 1 and 2 local worker processes and through a 2-worker Dask
LocalCluster (worker processes), all on the same samples. Loading: graphs/s in shuffled batches of
32 over the generated store, and over a store of the recipe's small default meshes, through
`meshsim.data.batch_loader` (whole batches built where the data are read: `read_batch`) and,
as the baseline, a torch_geometric DataLoader over the same `MeshDataset` (one graph per item,
collated afterwards); both with 2 worker processes and in-process, alternately, in this run.

    python tools/bench_generate.py          # 96 samples per run, a few minutes on 2 cores
    python tools/bench_generate.py --full   # 384 samples per run

Prints one JSON object as the last line: naive_samples_per_s, samples_per_s_1, samples_per_s_2,
efficiency (samples_per_s_2 / (2 samples_per_s_1)), dask_samples_per_s, loader_graphs_per_s
(batch_loader, 2 workers), plus mean_nodes, loader_graphs_per_s_in_process (no loader workers),
loader_graphs_per_s_small (default recipe, mean_nodes_small), the same three with the PyG
DataLoader (``..._pyg``), and the machine's 1-minute load average at the end (other
processes share the cores: compare rates within one run only). Worker start-up (imports) counts in the 2-worker and Dask
rates, as it does for a user; the in-process runs are warmed up first.

The cost of checking every read against its checksum (store schema 3) is measured in the same
run: the 1-worker store is copied to schema 2 (the same samples without checksums), and both
are loaded in-process, alternately, three times each, in graphs per CPU-second of the process
(robust to other processes' load): checked_read_ratio is the checked rate over the unchecked one
(median of the three pairs; 1.0 means free), with loader_graphs_per_cpu_s_schema2 the unchecked
rate.
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


def _loader(folder: Path, epochs: int, workers: int = 2, pyg: bool = False) -> tuple[float, float]:
    """(graphs/s over ``epochs`` shuffled epochs in batches of 32 with ``workers`` loader
    processes, mean nodes per graph): `batch_loader`, or torch_geometric's DataLoader with ``pyg``."""
    import torch
    from torch_geometric.loader import DataLoader

    from meshsim.data import batch_loader
    from meshsim.data import open as open_dataset

    torch.set_num_threads(1)  # as in DataLoader workers; two threads on two busy cores thrash
    dataset = open_dataset(folder, split="train")
    loader = (DataLoader(dataset, batch_size=32, shuffle=True, num_workers=workers, persistent_workers=workers > 0)
              if pyg else batch_loader(dataset, 32, shuffle=True, num_workers=workers))
    for _ in loader:  # start the workers and open the shards
        pass
    start, graphs, nodes = time.perf_counter(), 0, 0
    for _ in range(epochs):
        for batch in loader:
            graphs += batch.num_graphs
            nodes += batch.num_nodes
    return graphs / (time.perf_counter() - start), nodes / graphs


def _schema_2_copy(folder: Path, out: Path) -> None:
    """``folder``'s dataset with its shards rewritten in store schema 2 (no checksums)."""
    from meshsim.data import ShardReader, read_meta, write_shard
    from meshsim.data.store import write_json_atomic

    out.mkdir()
    meta = read_meta(folder)
    for record in meta["shards"]:
        with ShardReader(folder / record["file"]) as reader:
            samples = [reader.sample(i) for i in range(len(reader))]
            record["sha256"] = write_shard(out / record["file"], split=reader.split, shard=reader.shard,
                                           first_index=reader.first_index, num_requested=reader.num_requested,
                                           samples=samples, indices=reader.indices, seeds=reader.seeds,
                                           failures=reader.failures, schema_version=2)
    meta["schema_version"] = 2
    write_json_atomic(out / "meta.json", meta)


def _cpu_rate(folder: Path, epochs: int) -> float:
    """Graphs per CPU-second of this process, loading ``folder``'s train split in-process in
    batches of 32 (CPU time, unlike wall time, hardly depends on other processes' load)."""
    import torch
    from torch_geometric.loader import DataLoader

    from meshsim.data import open as open_dataset

    torch.set_num_threads(1)
    loader = DataLoader(open_dataset(folder, split="train"), batch_size=32, shuffle=True)
    for _ in loader:  # open the shards (and check the sha256 of schema-2 shards) untimed
        pass
    start, graphs = time.process_time(), 0
    for _ in range(epochs):
        graphs += sum(batch.num_graphs for batch in loader)
    return graphs / (time.process_time() - start)


def _checked_read_cost(checked: Path, unchecked: Path) -> tuple[float, float]:
    """(median ratio of the checked to the unchecked in-process loader rate in graphs per
    CPU-second, median unchecked rate) over three alternating pairs of 2-epoch runs."""
    pairs = [(_cpu_rate(checked, epochs=2), _cpu_rate(unchecked, epochs=2)) for _ in range(3)]
    return float(np.median([a / b for a, b in pairs])), float(np.median([b for _, b in pairs]))


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
        pyg, nodes = _loader(work / "one", epochs=4, pyg=True)
        loader, _ = _loader(work / "one", epochs=4)
        print(f"loader, 2 workers: {loader:.0f} graphs/s at {nodes:.0f} nodes per graph (PyG DataLoader: "
              f"{pyg:.0f})", flush=True)
        in_process_pyg, _ = _loader(work / "one", epochs=4, workers=0, pyg=True)
        in_process, _ = _loader(work / "one", epochs=4, workers=0)
        print(f"loader, no workers: {in_process:.0f} graphs/s (PyG DataLoader: {in_process_pyg:.0f})", flush=True)
        _schema_2_copy(work / "one", work / "schema2")
        checked_ratio, unchecked = _checked_read_cost(work / "one", work / "schema2")
        print(f"loader, no workers, schema 2 (unchecked reads): {unchecked:.0f} graphs per CPU-second; checked / "
              f"unchecked {checked_ratio:.3f}", flush=True)
        small = base.with_overrides(num_samples=320)
        generate(small, work / "small", workers=2, progress=False)
        small_pyg, nodes_small = _loader(work / "small", epochs=4, pyg=True)
        loader_small, _ = _loader(work / "small", epochs=4)
        print(f"loader, 2 workers: {loader_small:.0f} graphs/s at {nodes_small:.0f} nodes per graph (PyG "
              f"DataLoader: {small_pyg:.0f})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"naive_samples_per_s": round(naive, 3), "samples_per_s_1": round(one, 3),
                      "samples_per_s_2": round(two, 3), "efficiency": round(two / (2 * one), 3),
                      "dask_samples_per_s": round(dask, 3), "loader_graphs_per_s": round(loader, 1),
                      "mean_nodes": round(nodes), "loader_graphs_per_s_in_process": round(in_process, 1),
                      "loader_graphs_per_s_small": round(loader_small, 1),
                      "loader_graphs_per_s_pyg": round(pyg, 1),
                      "loader_graphs_per_s_in_process_pyg": round(in_process_pyg, 1),
                      "loader_graphs_per_s_small_pyg": round(small_pyg, 1),
                      "mean_nodes_small": round(nodes_small), "samples": count, "bit_identical": same,
                      "loader_graphs_per_cpu_s_schema2": round(unchecked, 1),
                      "checked_read_ratio": round(checked_ratio, 3),
                      "load_average_1m": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
