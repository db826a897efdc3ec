"""Forward+backward time and peak memory of the MeshGraphNet processor: meshsim's block vs naive PyG.

The processor is 15 `GraphNetBlock` s with latent 128 on the graph of a structured triangle mesh
(~10k nodes, ~60k directed edges; ``--full``: ~40k nodes). The baseline is the textbook PyG
`MessagePassing` version with the same weights: concatenate sender, receiver and edge latents, run
the edge MLP, scatter-sum into receivers. Both run in this process, interleaved, best of
``--repeats``. Peak memory (resident-set high-water mark above the level before the pass) is
measured for each in a fresh subprocess. ``matmul_fraction`` is the FLOP/s of meshsim's processor
(counting the matmuls it actually performs, backward = 2x forward) over the FLOP/s of plain
(E, 128) x (128, 128) matmuls of the same total FLOPs, timed interleaved with the passes so that
both see the same load on a shared machine.

Run: ``python tools/bench_processor.py`` (prints one JSON object as the last line).
"""
from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import time

import torch
from torch import nn
from torch_geometric.nn import MessagePassing

from meshsim.nn import GraphNetBlock, TargetSortedEdges

LATENT = 128
STEPS = 15


def grid_graph(side: int) -> torch.Tensor:
    """edge_index (2, E) of a side x side node triangulated square, both directions, sorted by target."""
    ids = torch.arange(side * side).reshape(side, side)
    a, b, c, d = ids[:-1, :-1], ids[:-1, 1:], ids[1:, :-1], ids[1:, 1:]
    undirected = torch.cat([torch.stack([a, b]).reshape(2, -1), torch.stack([a, c]).reshape(2, -1),
                            torch.stack([b, c]).reshape(2, -1), torch.stack([b, d]).reshape(2, -1),
                            torch.stack([c, d]).reshape(2, -1)], dim=1)
    edge_index = torch.unique(torch.cat([undirected, undirected.flip(0)], dim=1), dim=1)
    order = torch.argsort(edge_index[1] * side * side + edge_index[0])
    return edge_index[:, order]


class NaiveBlock(MessagePassing):
    """The concat-then-MLP formulation, sharing the MLPs of a `GraphNetBlock`."""

    def __init__(self, block: GraphNetBlock):
        super().__init__(aggr="sum")
        self.edge_mlp, self.node_mlp = block.edge_mlp, block.node_mlp

    def forward(self, x, edge_attr, edge_index):
        edge_delta = self.edge_mlp(torch.cat([x[edge_index[0]], x[edge_index[1]], edge_attr], dim=-1))
        received = self.propagate(edge_index, message_values=edge_delta, size=(len(x), len(x)))
        return x + self.node_mlp(torch.cat([x, received], dim=-1)), edge_attr + edge_delta

    def message(self, message_values):
        return message_values


def make_processors(seed: int) -> dict[str, nn.ModuleList]:
    """meshsim's processor and the naive one on the same weights."""
    torch.manual_seed(seed)
    blocks = nn.ModuleList(GraphNetBlock(LATENT) for _ in range(STEPS))
    return {"meshsim": blocks, "naive": nn.ModuleList(NaiveBlock(block) for block in blocks)}


def run_pass(blocks: nn.ModuleList, x: torch.Tensor, e: torch.Tensor, edge_index: torch.Tensor):
    """One forward+backward pass of the processor (`GraphNetBlock` s or `NaiveBlock` s)."""
    x, e = x.detach().requires_grad_(), e.detach().requires_grad_()
    if isinstance(blocks[0], GraphNetBlock):
        edges = TargetSortedEdges.from_edge_index(edge_index, len(x))
        for block in blocks:
            x, e = block(x, e, edges)
    else:
        for block in blocks:
            x, e = block(x, e, edge_index)
    (x.square().mean() + e.square().mean()).backward()


def processor_flops(num_nodes: int, num_edges: int) -> float:
    """Matmul FLOPs of meshsim's processor, forward and backward (2 x forward)."""
    n, m, w = num_nodes, num_edges, LATENT
    edge = 2 * n * w * 2 * w + 3 * 2 * m * w * w
    node = 2 * n * 2 * w * w + 2 * 2 * n * w * w
    return 3.0 * STEPS * (edge + node)


def inputs(side: int):
    edge_index = grid_graph(side)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(side * side, LATENT, generator=generator)
    e = torch.randn(edge_index.shape[1], LATENT, generator=generator)
    return edge_index, x, e


def _resident_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def _peak_memory_child(kind: str, side: int, threads: int, queue) -> None:
    torch.set_num_threads(threads)
    blocks = make_processors(0)[kind]
    edge_index, x, e = inputs(side)
    before = _resident_mb("VmRSS")
    run_pass(blocks, x, e, edge_index)
    queue.put(_resident_mb("VmHWM") - before)


def peak_memory_mb(kind: str, side: int, threads: int) -> float:
    """Resident-memory growth of one pass, measured in a fresh process (Linux /proc)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_peak_memory_child, args=(kind, side, threads, queue))
    process.start()
    value = queue.get()
    process.join()
    return value


def plain_matmuls(a: torch.Tensor, b: torch.Tensor, count: int) -> None:
    """``count`` plain (E, L) x (L, L) matmuls: the FLOP/s reference."""
    for _ in range(count):
        torch.mm(a, b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="~40k-node graph instead of ~10k")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of each (best counts)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    side = 200 if args.full else 100
    edge_index, x, e = inputs(side)
    processors = make_processors(0)
    flops = processor_flops(len(x), edge_index.shape[1])
    a, b = torch.randn(edge_index.shape[1], LATENT), torch.randn(LATENT, LATENT)
    num_matmuls = round(flops / (2.0 * edge_index.shape[1] * LATENT * LATENT))
    passes = {kind: functools.partial(run_pass, blocks, x, e, edge_index) for kind, blocks in processors.items()}
    passes["matmul"] = functools.partial(plain_matmuls, a, b, num_matmuls)
    times = {kind: [] for kind in passes}
    for _ in range(args.repeats):
        for kind, one_pass in passes.items():
            processors["meshsim"].zero_grad()
            start = time.perf_counter()
            one_pass()
            times[kind].append(time.perf_counter() - start)
    meshsim_s, naive_s, matmul_s = (min(times[kind]) for kind in ("meshsim", "naive", "matmul"))
    result = {
        "num_nodes": len(x), "num_edges": int(edge_index.shape[1]), "latent": LATENT, "steps": STEPS,
        "threads": torch.get_num_threads(),
        "meshsim_s": meshsim_s, "naive_s": naive_s, "speedup": naive_s / meshsim_s,
        "meshsim_gflops": flops / meshsim_s / 1e9, "matmul_gflops": flops / matmul_s / 1e9,
        "matmul_fraction": matmul_s / meshsim_s,
        "peak_mem_mb_meshsim": peak_memory_mb("meshsim", side, torch.get_num_threads()),
        "peak_mem_mb_naive": peak_memory_mb("naive", side, torch.get_num_threads()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
