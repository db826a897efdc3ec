"""DMM on a mesh-movement dataset (``meshsim train dmm``): data-free, trained on the Monge-Ampere
residual at collocation points drawn with density m, plus the boundary (x1000) and convexity
penalties. Training reads only the monitor, the boundary constraint and the mesh, so it needs no
Monge-Ampere solves; a dataset's moved points, when present, only add the distances to them to
`DMMTask.evaluate`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.tri import LinearTriInterpolator, Triangulation
from torch_geometric.data import Data
from torch_geometric.utils import to_dense_batch

from ..data import MeshDataset
from ..nn.dmm import DMM, boundary_flux, convexity, ma_residual, sample_raster
from .movement_losses import signed_areas
from .um2n_task import evaluate_mover, open_movement_split


@dataclass(frozen=True)
class DMMSettings:
    """Model and loss settings (DMM's loss weights: boundary 1000, convexity 1)."""

    raster_size: int = 64
    grid_size: int = 32
    latent_dim: int = 64
    trunk_hidden: tuple = (64, 64)
    out_hidden: tuple = (128, 64)
    coupling: str = "product"
    collocation_points: int = 512
    boundary_weight: float = 1000.0
    convexity_weight: float = 1.0


def rasterise(pos: np.ndarray, cells: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """P1 field ``values`` (N,) on a triangle mesh sampled on a size x size grid over its bounding box
    (row i = y, column j = x): (size, size) raster and the box ``[x0, y0, x1, y1]``. Grid points
    outside the mesh take the nearest node's value."""
    low, high = pos.min(axis=0), pos.max(axis=0)
    xs, ys = np.linspace(low[0], high[0], size), np.linspace(low[1], high[1], size)
    gx, gy = np.meshgrid(xs, ys)
    raster = LinearTriInterpolator(Triangulation(pos[:, 0], pos[:, 1], cells), values)(gx, gy)
    outside = np.ma.getmaskarray(raster)
    raster = np.ma.filled(raster, 0.0)
    if outside.any():
        points = np.column_stack([gx[outside], gy[outside]])
        nearest = ((points[:, None, :] - pos[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        raster[outside] = values[nearest]
    return raster, np.concatenate([low, high])


class DMMInputs:
    """PyG transform adding ``grid`` (1, G, G) the monitor raster, ``box`` (1, 4), ``theta`` (1,)
    the monitor's mean over the domain (exact for P1), ``monitor`` (N, 1) and ``boundary`` (N, 4)."""

    def __init__(self, raster_size: int):
        self.raster_size = raster_size

    def __call__(self, data: Data) -> Data:
        monitor, pos = data.x[:, 0].double().numpy(), data.pos.double().numpy()
        cells = data.face.T.numpy()
        raster, box = rasterise(pos, cells, monitor, self.raster_size)
        areas = np.abs(signed_areas(torch.from_numpy(pos), data.face).numpy())
        theta = float((areas * monitor[cells].mean(axis=1)).sum() / areas.sum())
        data.grid = torch.tensor(raster, dtype=torch.float32)[None]
        data.box = torch.tensor(box, dtype=torch.float32)[None]
        data.theta = torch.tensor([theta], dtype=torch.float32)
        data.monitor, data.boundary = data.x[:, :1], data.x[:, 1:5]
        return data


def _graph_ids(data: Data) -> torch.Tensor:
    batch = getattr(data, "batch", None)
    return torch.zeros(len(data.pos), dtype=torch.long) if batch is None else batch


def collocation_points(data: Data, count: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` points per graph (P, 2) and their graphs (P,): cells drawn with probability
    area x mean monitor (density m, as DMM samples), uniform within each cell."""
    graph_of_node = _graph_ids(data)
    face = data.face
    cell_graph = graph_of_node[face[0]]
    weight = signed_areas(data.pos, face).abs() * data.monitor[face, 0].mean(dim=0)
    dense, valid = to_dense_batch(weight, cell_graph)  # cells are grouped by graph in a batch
    chosen = torch.multinomial(dense.masked_fill(~valid, 0.0), count, replacement=True, generator=generator)
    offsets = torch.cumsum(valid.sum(dim=1), 0) - valid.sum(dim=1)
    cells = (chosen + offsets[:, None]).flatten()
    r1, r2 = torch.rand(2, len(cells), generator=generator, dtype=data.pos.dtype)
    root = r1.sqrt()
    bary = torch.stack([1 - root, root * (1 - r2), root * r2], dim=1)
    corners = data.pos[face[:, cells]]  # (3, P, 2)
    return (bary.T[:, :, None] * corners).sum(dim=0), cell_graph[cells]


class DMMLoss:
    """``mean r^2 + boundary_weight * mean (grad phi . n)^2 + convexity_weight * convexity`` with r
    the Monge-Ampere residual `meshsim.nn.dmm.ma_residual` at density-m collocation points."""

    def __init__(self, settings: DMMSettings):
        self.settings = settings

    def parts(self, model: DMM, data: Data, generator: torch.Generator | None = None) -> dict:
        s = self.settings
        branch = model.encode(data.grid)
        xi, graph = collocation_points(data, s.collocation_points, generator)
        grad, hessian = model.derivatives(xi, data.grid, data.box, graph, branch=branch)
        residual = ma_residual(data.grid, data.box, graph, data.theta, xi, grad, hessian)
        sliding = (data.boundary[:, :2] != 0).any(dim=1)
        boundary_grad, _ = model.derivatives(data.pos[sliding], data.grid, data.box, _graph_ids(data)[sliding],
                                             hessian=False, branch=branch)
        return {"residual": (residual**2).mean(), "boundary": boundary_flux(boundary_grad, data.boundary[sliding, :2]),
                "convexity": convexity(hessian)}

    def __call__(self, model: DMM, data: Data, generator: torch.Generator | None = None) -> torch.Tensor:
        parts = self.parts(model, data, generator)
        return parts["residual"] + self.settings.boundary_weight * parts["boundary"] + \
            self.settings.convexity_weight * parts["convexity"]


def predict(model: DMM, data: Data) -> torch.Tensor:
    """(N, 2) moved nodes of a prepared graph (`DMMInputs`), boundary nodes projected."""
    return model(data.pos, data.grid, data.box, _graph_ids(data), data.boundary)


def equidistribution_cv(points: torch.Tensor, data: Data) -> float:
    """std / mean over cells of m * area on ``points``, m the rasterised monitor at the points."""
    m = sample_raster(data.grid, data.box, torch.zeros(len(points), dtype=torch.long), points)
    mass = signed_areas(points, data.face).abs() * m[data.face].mean(dim=0)
    return float(mass.std() / mass.mean())


class DMMTask:
    """``meshsim train dmm``: DMM on the monitors of a mesh-movement dataset in ``folder``."""

    name = "dmm"
    Settings = DMMSettings
    train_defaults = {"steps": 2000, "batch_size": 4, "lr": 1e-3, "lr_final": 1e-4}

    def __init__(self, folder: str | Path, settings: DMMSettings = DMMSettings()):
        self.folder, self.settings = Path(folder), settings
        self.train_set = self.split("train")

    def split(self, name: str) -> list[Data]:
        """The split's graphs, prepared once (rasterising costs milliseconds per mesh)."""
        dataset: MeshDataset = open_movement_split(self.folder, name, need_targets=False)
        dataset.transform = None
        prepare = DMMInputs(self.settings.raster_size)
        return [prepare(dataset[i]) for i in range(len(dataset))]

    @staticmethod
    def build_model(settings: DMMSettings) -> DMM:
        return DMM(grid_size=settings.grid_size, latent_dim=settings.latent_dim,
                   trunk_hidden=tuple(settings.trunk_hidden), out_hidden=tuple(settings.out_hidden),
                   coupling=settings.coupling)

    def model(self) -> DMM:
        return self.build_model(self.settings)

    def loss(self) -> DMMLoss:
        return DMMLoss(self.settings)

    def validate(self, split: str = "valid", max_meshes: int = 8):
        graphs = self.split(split)[:max_meshes]
        loss = self.loss()

        def validate(model: DMM) -> dict:
            generator = torch.Generator().manual_seed(0)
            with torch.enable_grad():
                parts = [loss.parts(model, data, generator) for data in graphs]
            tangled = evaluate_mover(lambda data: predict(model, data), graphs)["tangled_meshes"]
            means = {k: float(np.mean([float(p[k].detach()) for p in parts])) for k in parts[0]}
            return {**means, "tangled_meshes": tangled}
        return validate

    def evaluate(self, model: DMM, split: str = "test", max_trajectories: int | None = None) -> dict:
        model.eval()
        graphs = self.split(split)[:max_trajectories]
        metrics = evaluate_mover(lambda data: predict(model, data), graphs)
        cv = [equidistribution_cv(predict(model, data), data) for data in graphs]
        identity = [equidistribution_cv(data.pos, data) for data in graphs]
        return {**metrics, "equidistribution_cv": float(np.mean(cv)),
                "identity_equidistribution_cv": float(np.mean(identity))}
