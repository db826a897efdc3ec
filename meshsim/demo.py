"""``make demo`` / ``meshsim demo``: the main pipeline end to end on small embedded defaults.

geometry -> gmsh mesh -> quality check -> FEM solve -> graph -> PNG + XDMF files -> a small
sharded HDF5 dataset -> a tiny MeshGraphNet trained for a few seconds on flow past a cylinder,
with its rollout error beside the persistence baseline, all under ``out``.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def _step(title: str):
    print(f"\n== {title}")
    return time.perf_counter()


def run_demo(out: Path, h: float = 0.03) -> dict:
    """Run the demo, writing files under ``out``; returns a dict of what was made (paths, sizes)."""
    from .graph import from_mesh
    from .mesh import channel_with_cylinder, count_inverted, min_angles
    from .viz import plot_mesh

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    made: dict = {}

    t0 = _step(f"mesh: DFG channel with cylinder, h={h}")
    mesh = channel_with_cylinder(h=h)
    print(mesh)
    print(f"meshed in {time.perf_counter() - t0:.2f} s")

    _step("quality")
    angles = min_angles(mesh)
    print(f"min angle {angles.min():.1f} deg, mean {angles.mean():.1f} deg, inverted cells {count_inverted(mesh)}")
    for name in sorted(mesh.boundary):
        print(f"  {name:10s} {len(mesh.boundary[name]):5d} facets")

    t0 = _step("FEM: Poisson -lap u = 1, u = 0 on walls and cylinder")
    from .fem import poisson

    u = poisson(mesh, kappa=1.0, f=1.0, dirichlet={"walls": 0.0, "cylinder": 0.0}).values
    print(f"solved {mesh.num_points} unknowns in {time.perf_counter() - t0:.2f} s; max u = {u.max():.5f}")
    mesh = mesh.with_data(point_data={"u": u})

    _step("graph")
    graph = from_mesh(mesh, fields=["u"])
    print(graph)
    print(f"{graph.num_nodes} nodes, {graph.num_edges} directed edges, node types "
          f"{np.bincount(graph.node_type.numpy()).tolist()}")
    made.update(num_nodes=graph.num_nodes, num_edges=graph.num_edges)

    _step("files")
    png = out / "channel.png"
    plot_mesh(mesh, field=u, path=png, title="Poisson on the DFG channel")
    xdmf = out / "channel.xdmf"
    mesh.write(xdmf)  # plain XDMF (one state): meshsim.read, meshsim info, meshio and ParaView open it
    msh = out / "channel.msh"
    mesh.write(msh)
    for path in (png, xdmf, msh):
        print(f"wrote {path}")
    made.update(png=png, xdmf=xdmf, msh=msh)

    t0 = _step("dataset: darcy_square, 16 samples, sharded HDF5 store")
    from .data import generate
    from .data.card import card_text

    dataset = out / "darcy_square"
    meta = generate("darcy_square", dataset, num_samples=16, progress=False)
    print(card_text(dataset, meta))
    print(f"generated in {time.perf_counter() - t0:.2f} s")
    made.update(dataset=dataset)
    made.update(_train_meshgraphnet(out))
    return made


def _train_meshgraphnet(out: Path, steps: int = 300) -> dict:
    """Flow past a cylinder (5 short trajectories) -> a small MeshGraphNet trained for ``steps``
    steps -> rollout RMSE against the persistence baseline, a loss curve and a rollout GIF."""
    import torch

    from .data import generate, load_recipe
    from .train import TrainConfig, train
    from .train.mgn_task import MeshGraphNetSettings, MeshGraphNetTask
    from .viz import animate_rollout

    t0 = _step("MeshGraphNet: cylinder_flow, 5 trajectories of 10 frames, a small model")
    recipe = load_recipe("cylinder_flow").with_overrides(
        splits={"train": 3, "valid": 1, "test": 1}, params={"h": 0.1, "h_cylinder": 0.04, "num_frames": 10,
                                                             "save_every": 1})
    folder = out / "cylinder_flow"
    generate(recipe, folder, progress=False)
    print(f"generated in {time.perf_counter() - t0:.2f} s")
    torch.manual_seed(0)
    task = MeshGraphNetTask(folder, MeshGraphNetSettings(latent_dim=32, num_steps=4, noise_std=0.0))
    model = task.model()
    print(f"training with {torch.get_num_threads()} torch thread(s) (meshsim demo --threads N to change)")
    t0 = time.perf_counter()
    result = train(model, task.loss(), task.train_set, TrainConfig(steps=steps, batch_size=2, lr=1e-3, lr_final=3e-4,
                                                                   progress=False, log_every=10),
                   run_dir=out / "mgn-run", resume=True)
    seconds = time.perf_counter() - t0
    if result.losses:
        print(f"trained {len(result.losses)} steps in {seconds:.1f} s: loss {result.losses[0]:.3g} -> "
              f"{sum(result.losses[-10:]) / len(result.losses[-10:]):.3g}")
    metrics = task.evaluate(model, "test")
    h = metrics["horizon"]
    print(f"velocity rollout RMSE over {h} steps: {metrics[f'rollout_rmse_{h}']:.4f} m/s "
          f"(persistence baseline {metrics[f'persistence_rmse_{h}']:.4f}); one-step {metrics['one_step_rmse']:.4f}\n"
          f"(seconds of training on 3 trajectories; tutorials/cylinder_flow_meshgraphnet.py trains for real)")
    example = task.example_rollout(model, "test")
    gif = animate_rollout(example.graph.pos.numpy(), example.graph.face.T.numpy(), example.truth.numpy(),
                          example.prediction.numpy(), out / "mgn-rollout.gif", times=example.times,
                          title="MeshGraphNet rollout", field_name="|u| (m/s)")
    print(f"wrote {gif}")
    return {"mgn_metrics": metrics, "mgn_gif": gif}
