"""UM2N on a ``helmholtz_movement`` dataset (``meshsim train um2n``): learn the Monge-Ampere moved
points from the mesh and its monitor; loss element-area L1 (x300) + 100 x Chamfer distance."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch_geometric.data import Data

from ..data import DatasetError, MeshDataset
from ..nn.um2n import UM2N
from .movement_losses import chamfer_distance, element_area_loss, tangled_cells

#: dataset fields the learned movers read: monitor (N, 1), slide (N, 4); the target, moved (N, 2)
INPUTS, TARGETS = ("monitor", "slide"), ("moved",)


@dataclass(frozen=True)
class UM2NSettings:
    """Model and loss settings. The deformer defaults are narrower than UM2N's (hidden 254, per-head
    widths 508, 250, 120, 20: ``--set deformer_hidden=254 --set deformer_dims=508,250,120,20``) to
    train on a CPU in minutes; ``max_keys`` 0 means dense attention."""

    embed_dim: int = 64
    heads: int = 4
    encoder_layers: int = 1
    global_dim: int = 16
    max_keys: int = 256
    local_dim: int = 16
    deformer_hidden: int = 64
    deformer_dims: tuple = (64, 64, 32, 16)
    deformer_heads: int = 6
    area_scale: float = 300.0
    chamfer_weight: float = 100.0


class MovementInputs:
    """PyG transform: ``monitor`` (N, 1) = the stored monitor over its maximum, ``boundary`` (N, 4)
    the sliding constraint, from ``x`` = [monitor, slide]; positions in float32 as ``pos``."""

    def __call__(self, data: Data) -> Data:
        monitor = data.x[:, :1]
        data.monitor = monitor / monitor.max()
        data.boundary = data.x[:, 1:5]
        return data


def open_movement_split(folder: str | Path, split: str, need_targets: bool = True) -> MeshDataset:
    """A split of a ``helmholtz_movement`` dataset as graphs with ``monitor``, ``boundary`` and, when
    the dataset has the Monge-Ampere points (always if ``need_targets``), ``y``."""
    probe = MeshDataset(folder, split, inputs=INPUTS, targets=())
    targets = TARGETS if need_targets or "moved" in probe.meta["fields"] else ()
    dataset = MeshDataset(folder, split, inputs=INPUTS, targets=targets) if targets else probe
    expected = {"monitor": 1, "slide": 4, "moved": 2}
    channels = {name: dataset.meta["fields"][name]["channels"] for name in (*INPUTS, *targets)}
    if channels != {name: expected[name] for name in channels}:
        raise DatasetError(f"{folder}: a mesh-movement dataset needs fields monitor (1 channel), slide (4) and "
                           f"moved (2); this one has {channels}")
    dataset.transform = MovementInputs()
    return dataset


def predict(model: UM2N, data: Data, generator: torch.Generator | None = None) -> torch.Tensor:
    """(N, 2) moved coordinates of a graph or batch with ``monitor`` and ``boundary``."""
    batch, ptr = getattr(data, "batch", None), getattr(data, "ptr", None)
    return model(data.pos, data.monitor, data.boundary, data.edge_index, batch, ptr, generator)


class UM2NLoss:
    """``area_scale`` element-area L1 + ``chamfer_weight`` Chamfer distance against ``data.y``."""

    def __init__(self, area_scale: float = 300.0, chamfer_weight: float = 100.0):
        self.area_scale, self.chamfer_weight = area_scale, chamfer_weight

    def __call__(self, model: UM2N, data: Data, generator: torch.Generator | None = None) -> torch.Tensor:
        prediction = predict(model, data, generator)
        graphs = int(data.num_graphs) if hasattr(data, "num_graphs") else 1
        area = element_area_loss(prediction, data.y, data.face, graphs, self.area_scale)
        return area + self.chamfer_weight * chamfer_distance(prediction, data.y, getattr(data, "batch", None))


def movement_metrics(moved: list[torch.Tensor], graphs: list[Data], area_scale: float = 300.0) -> dict:
    """The count of tangled meshes and, for graphs with the Monge-Ampere points ``y``, the means over
    meshes of the area loss, Chamfer distance and coordinate RMSE against them, and the same for the
    unmoved meshes (``identity_*``)."""
    with_targets = all(getattr(data, "y", None) is not None for data in graphs)
    totals = dict.fromkeys(("area_loss", "chamfer", "rmse", "identity_area_loss", "identity_chamfer",
                            "identity_rmse"), 0.0) if with_targets else {}
    tangled = 0
    for x, data in zip(moved, graphs):
        for prefix, points in (("", x), ("identity_", data.pos)) if with_targets else ():
            totals[prefix + "area_loss"] += float(element_area_loss(points, data.y, data.face, 1, area_scale))
            totals[prefix + "chamfer"] += float(chamfer_distance(points, data.y))
            totals[prefix + "rmse"] += float(((points - data.y) ** 2).sum(dim=1).mean().sqrt())
        tangled += int(len(tangled_cells(x, data.pos, data.face)) > 0)
    count = max(len(graphs), 1)
    return {**{k: v / count for k, v in totals.items()}, "tangled_meshes": tangled, "num_meshes": len(graphs)}


def evaluate_mover(move, dataset, max_meshes: int | None = None) -> dict:
    """`movement_metrics` of ``move(data) -> (N, 2)`` over the graphs of a split (a dataset or a
    list), and the mean seconds per mesh."""
    count = len(dataset) if max_meshes is None else min(max_meshes, len(dataset))
    if count == 0:
        raise DatasetError("no meshes to evaluate: the split is empty")
    graphs, moved, seconds = [], [], 0.0
    for i in range(count):
        data = dataset[i]
        start = time.perf_counter()
        x = move(data)
        seconds += time.perf_counter() - start
        graphs.append(data)
        moved.append(x.detach())
    return {**movement_metrics(moved, graphs), "seconds_per_mesh": seconds / count}


class UM2NTask:
    """``meshsim train um2n``: UM2N on the ``helmholtz_movement`` dataset in ``folder``."""

    name = "um2n"
    Settings = UM2NSettings
    train_defaults = {"steps": 3000, "batch_size": 4, "lr": 1e-3, "lr_final": 1e-4}

    def __init__(self, folder: str | Path, settings: UM2NSettings = UM2NSettings()):
        self.folder, self.settings = Path(folder), settings
        self.train_set = open_movement_split(self.folder, "train")

    @staticmethod
    def build_model(settings: UM2NSettings) -> UM2N:
        return UM2N(embed_dim=settings.embed_dim, heads=settings.heads, encoder_layers=settings.encoder_layers,
                    global_dim=settings.global_dim, max_keys=settings.max_keys or None, local_dim=settings.local_dim,
                    deformer_hidden=settings.deformer_hidden, deformer_dims=tuple(settings.deformer_dims),
                    deformer_heads=settings.deformer_heads)

    def model(self) -> UM2N:
        return self.build_model(self.settings)

    def loss(self) -> UM2NLoss:
        return UM2NLoss(self.settings.area_scale, self.settings.chamfer_weight)

    def split(self, name: str) -> MeshDataset:
        return open_movement_split(self.folder, name)

    def validate(self, split: str = "valid", max_meshes: int = 16):
        dataset = self.split(split)

        def validate(model: UM2N) -> dict:
            metrics = evaluate_mover(lambda data: predict(model, data), dataset, max_meshes)
            return {k: metrics[k] for k in ("area_loss", "chamfer", "rmse", "tangled_meshes")}
        return validate

    def evaluate(self, model: UM2N, split: str = "test", max_trajectories: int | None = None) -> dict:
        model.eval()
        with torch.no_grad():
            return evaluate_mover(lambda data: predict(model, data), self.split(split), max_trajectories)

