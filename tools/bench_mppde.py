"""Training steps per second of MP-PDE (batch 16, one thread): `meshsim train mppde`'s step against
minimal loops, at nx = 40 and 100 (``--full``: also 50 and 200).

Four ways to run the same model (time window 25, latent 128, 6 layers, 3 neighbours) on the same
synthetic trajectories (S x nx x 250):

* ``meshsim``: `meshsim.train.train` with the MP-PDE task's path (trajectories on one grid, the
  batched graph built once, `MPPDELoss` with the paper's sqrt-sum loss, the paper's schedule with
  torch's fused AdamW); ``first`` phase (no pushforward: one forward and backward per step),
  ``pushforward`` phase (one extra forward without gradient on half the steps), and the first
  phase in mixed precision (``dtype=bfloat16``: bfloat16 products under autocast, a deviation);
* ``graph_batches``: the same loop fed PyG ``Data`` per trajectory, collated into a ``Batch`` per
  step (meshsim's path before: per-step collation, edges sorted per call, clipping, plain AdamW);
* ``minimal``: a plain loop on one pre-built batch: forward, loss, backward, plain AdamW, nothing
  else (the "minimal loop" of issue 14);
* ``naive_minimal``: the minimal loop with the paper's formulation of the layer (PyG
  ``MessagePassing``, per-edge concatenation, PyG's InstanceNorm, ``nn.Conv1d`` decoder) sharing
  the model's weights.

Rates are steps per second of this process's CPU time (one thread, so the wall-clock rate of an
idle core; on a shared machine the wall-clock rate also depends on the others' load, which is
printed beside it). The configurations are interleaved in blocks and the median block is taken.

Run: ``python tools/bench_mppde.py`` (prints one JSON object as the last line).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also nx = 50 and 200, more repeats")
    parser.add_argument("--repeats", type=int, help="interleaved blocks per configuration (default 3, --full 5)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import numpy as np
    import torch

    from meshsim.nn import MPPDE
    from meshsim.train import MPPDELoss, TrainConfig, train
    from meshsim.train.mppde_grid import GridTrajectories, MPPDEGrid
    from meshsim.train.mppde_task import MPPDESettings, paper_schedule
    from torch_geometric.data import Batch, Data

    torch.set_num_threads(1)
    repeats = args.repeats or (5 if args.full else 3)
    resolutions = (40, 50, 100, 200) if args.full else (40, 100)
    load_before = os.getloadavg()
    results = {}

    def model(mixed_precision=False):
        torch.manual_seed(0)
        return MPPDE(25, 3, dt=4.0 / 249, domain_length=16.0, t_max=4.0, mixed_precision=mixed_precision)

    for nx in resolutions:
        block = max(6, 1200 // nx)  # steps per timed block: about 1.5-3 s of CPU each
        x = np.linspace(0.0, 16.0, nx)
        rng = np.random.default_rng(0)
        waves = rng.normal(size=(64, 3, 1, 1))
        t = np.linspace(0.0, 4.0, 250)[None, None, None, :]
        u = torch.from_numpy((waves[:, 0] * np.sin(2 * np.pi * x[None, :, None] / 16 + waves[:, 1] * t[0])
                              + waves[:, 2] * np.cos(4 * np.pi * x[None, :, None] / 16))).float()
        params = torch.tensor([[1.0, 0.0, 0.0]]).repeat(64, 1)
        grid = MPPDEGrid.line(x, 3)
        dataset = GridTrajectories(u, params, grid)
        graphs = [Data(u=u[i], pos=grid.pos, params=params[i:i + 1], edge_index=grid.edge_index) for i in range(64)]
        schedule = paper_schedule(MPPDESettings())
        schedule.pop("best_metric")

        def loop(phase, mixed_precision=False):
            unroll_from = block + 1 if phase == "first" else 0
            config = TrainConfig(steps=block, batch_size=16, lr=1e-4, progress=False, log_every=10 ** 6, **schedule)
            loss = MPPDELoss(1, unroll_from_step=unroll_from, reduction="sqrt_sum", grid=grid)
            return lambda: train(model(mixed_precision), loss, dataset, config)

        def graph_batches():
            config = TrainConfig(steps=block, batch_size=16, lr=1e-4, progress=False, log_every=10 ** 6)
            return lambda: train(model(), MPPDELoss(0, reduction="sqrt_sum"), graphs, config)

        def minimal(naive=False):
            net = model()
            forward = NaiveMPPDE(net) if naive else net
            optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.01)
            batch = Batch.from_data_list(graphs[:16])
            start = torch.randint(25, 200, (16,), generator=torch.Generator().manual_seed(0))[batch.batch]
            columns = start[:, None] + torch.arange(25)
            window, target = batch.u.gather(1, columns - 25), batch.u.gather(1, columns)
            time_ = (start.float() - 1) * net.dt

            def run():
                for _ in range(block):
                    optimizer.zero_grad()
                    out = forward(window, batch.pos, time_, batch.params[batch.batch], batch.edge_index, batch.batch)
                    ((out - target) ** 2).sum().sqrt().backward()
                    optimizer.step()
            return run

        configs = {"meshsim": loop("first"), "meshsim_pushforward": loop("pushforward"),
                   "meshsim_bfloat16": loop("first", mixed_precision=True),
                   "graph_batches": graph_batches(), "minimal": minimal(), "naive_minimal": minimal(naive=True)}
        cpu, wall = {k: [] for k in configs}, {k: [] for k in configs}
        for name, run in configs.items():
            run()  # warm-up (allocations, first-call costs)
        for _ in range(repeats):
            for name, run in configs.items():
                began_cpu, began_wall = time.process_time(), time.perf_counter()
                run()
                cpu[name].append(block / (time.process_time() - began_cpu))
                wall[name].append(block / (time.perf_counter() - began_wall))
        rates = {k: statistics.median(v) for k, v in cpu.items()}
        results[nx] = {"cpu": rates, "wall": {k: statistics.median(v) for k, v in wall.items()}}
        print(f"nx={nx}: steps per CPU-second " + ", ".join(f"{k} {v:.2f}" for k, v in rates.items())
              + "; wall " + ", ".join(f"{k} {v:.2f}" for k, v in results[nx]["wall"].items()), flush=True)

    out = {}
    for nx, r in results.items():
        cpu = r["cpu"]
        out[f"steps_per_s_nx{nx}"] = cpu["meshsim"]
        out[f"steps_per_s_pushforward_nx{nx}"] = cpu["meshsim_pushforward"]
        out[f"steps_per_s_bfloat16_nx{nx}"] = cpu["meshsim_bfloat16"]
        out[f"minimal_steps_per_s_nx{nx}"] = cpu["minimal"]
        out[f"naive_minimal_steps_per_s_nx{nx}"] = cpu["naive_minimal"]
        out[f"graph_batches_steps_per_s_nx{nx}"] = cpu["graph_batches"]
        out[f"over_minimal_nx{nx}"] = cpu["meshsim"] / cpu["minimal"]
        out[f"over_naive_minimal_nx{nx}"] = cpu["meshsim"] / cpu["naive_minimal"]
        out[f"over_graph_batches_nx{nx}"] = cpu["meshsim"] / cpu["graph_batches"]
        out[f"wall_steps_per_s_nx{nx}"] = r["wall"]["meshsim"]
    out["load_average_before"], out["load_average_after"] = load_before[0], os.getloadavg()[0]
    out["target_steps_per_s_nx40"] = 11.0
    print(json.dumps(out))
    return out


def _naive_layer_class():
    import torch
    from torch_geometric.nn import MessagePassing

    class NaiveLayer(MessagePassing):
        """The paper's layer: message MLP on (h_i, h_j, u_i - u_j, x_i - x_j, v_i) per edge, mean,
        update MLP, residual, PyG InstanceNorm; the weights of a `meshsim.nn.MPPDELayer`."""

        def __init__(self, layer):
            super().__init__(aggr="mean")
            self.layer = layer

        def forward(self, h, u, pos, variables, edge_index, batch):
            received = self.propagate(edge_index, h=h, u=u, pos=pos, variables=variables)
            update = self.layer.activation(self.layer.update_mlp(torch.cat([h, received, variables], -1)))
            return self.layer.norm(h + update, batch)

        def message(self, h_i, h_j, u_i, u_j, pos_i, pos_j, variables_i):
            return self.layer.activation(self.layer.message_mlp(
                torch.cat([h_i, h_j, u_i - u_j, pos_i - pos_j, variables_i], -1)))
    return NaiveLayer


class NaiveMPPDE:
    """The paper's formulation of a `meshsim.nn.MPPDE` (same weights): per-edge concatenation in
    PyG ``MessagePassing`` layers and the ``nn.Conv1d`` decoder."""

    def __init__(self, model):
        layer_class = _naive_layer_class()
        self.model, self.layers = model, [layer_class(layer) for layer in model.layers]

    def __call__(self, u, pos, time_, params, edge_index, batch):
        import torch

        m = self.model
        pos = pos / m.domain_length
        variables = torch.cat([(time_ / m.t_max)[:, None], params], -1)
        h = m.activation(m.encoder(torch.cat([u, pos, variables], -1)))
        for layer in self.layers:
            h = layer(h, u, pos, variables, edge_index, batch)
        return u[:, -1:] + m.steps * m.decoder(h.unsqueeze(1)).squeeze(1)


if __name__ == "__main__":
    main()
