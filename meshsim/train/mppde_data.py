"""MP-PDE datasets of the store (recipes ``mppde_E1``-``E3``) as tensors on one grid, the rollout
metrics of both protocols, and the classical WENO5 baseline solved from the stored parameters."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data import DatasetError, MeshDataset
from ..data.problems.mppde import DOMAIN_LENGTH, coarse_trajectories, solve_stored
from ..data.problems.mppde import grid_points as protocol_points
from .metrics import bundle_accumulated_errors
from .mppde_grid import MPPDEGrid, grid_rollout

#: PDE parameters the model reads, in this order (alpha, beta, gamma of the combined equation)
PDE_PARAMETERS = ("alpha", "beta", "gamma")
#: bundle counts of the accumulated error: frames 50-224 (the paper's table) and 50-249 (its code)
REPORTED_BUNDLES = (7, 8)


@dataclass
class GridData:
    """A split on one grid: ``u`` (S, nx, T), ``params`` (S, 3) alpha, beta, gamma, the ``grid``
    graph, ``times`` (T,), ``dt``, the protocol (``"cell"`` or ``"reference"``), ``t_end`` and the
    stored parameters of every trajectory (``stored``: name -> (S, ...)) for the classical baseline."""

    u: torch.Tensor
    params: torch.Tensor
    grid: MPPDEGrid
    times: np.ndarray
    protocol: str
    stored: dict

    @property
    def dt(self) -> float:
        return float(self.times[1] - self.times[0])

    @property
    def nx(self) -> int:
        return self.u.shape[1]


def load_grid_data(folder: str | Path, split: str, resolution: int = 0, neighbours: int = 3, periodic: bool = False,
                   max_trajectories: int | None = None, dtype: torch.dtype = torch.float32) -> GridData:
    """Every trajectory (or the first ``max_trajectories``) of a split of an MP-PDE dataset, on
    ``resolution`` nodes (0: as stored; else the stored data coarsened by the dataset's protocol:
    cell averages, or the paper's 5-tap filter on the reference grid).

    Raises:
        DatasetError: not an MP-PDE dataset, an empty split, or a resolution that does not divide
            the stored one.
    """
    dataset = MeshDataset(folder, split)
    meta = dataset.meta
    if not meta.get("trajectory") or "u" not in meta["fields"] or meta["fields"]["u"]["channels"] != 1:
        raise DatasetError(f"{folder}: MP-PDE needs trajectories of a scalar field 'u' (an mppde_* recipe)")
    missing = [p for p in PDE_PARAMETERS if p not in meta["params"]]
    if missing:
        raise DatasetError(f"{folder}: samples lack the PDE parameter(s) {missing}")
    recipe = meta.get("recipe", {}).get("params", {})
    protocol, t_end = recipe.get("grid", "cell"), float(recipe.get("t_end", 0.0))
    count = dataset.num_samples if max_trajectories is None else min(max_trajectories, dataset.num_samples)
    if count == 0:
        raise DatasetError(f"{folder}: split {split!r} has no trajectories")
    fields, stored, times = [], {}, None
    for i in range(count):
        item = dataset.trajectory(i)
        u = item.fields["u"][..., 0]  # (T, n)
        fields.append(coarse_trajectories(u, resolution or u.shape[1], protocol).T)  # (nx, T)
        times = item.times
        for name, value in item.params.items():
            stored.setdefault(name, []).append(np.asarray(value))
    nx = fields[0].shape[0]
    u = np.stack(fields)
    params = np.stack([np.ravel(stored[name]).astype(np.float64) for name in PDE_PARAMETERS], axis=1)
    grid = MPPDEGrid.line(protocol_points(nx, protocol, DOMAIN_LENGTH), neighbours, periodic, dtype)
    return GridData(torch.from_numpy(np.ascontiguousarray(u)).to(dtype), torch.from_numpy(params).to(dtype), grid,
                    np.asarray(times), protocol, {k: np.stack(v) for k, v in stored.items()} | {"t_end": t_end})


def rollout_errors(model: nn.Module, data: GridData, batch_size: int = 128) -> tuple[torch.Tensor, dict]:
    """The model's rollout from the true window before frame 2 tw to the last full bundle, in
    batches of ``batch_size`` trajectories: (frames (S, F, nx), {k: accumulated error over the
    first k bundles} for k in `REPORTED_BUNDLES` that fit, plus ``all`` over every predicted frame)."""
    tw = model.time_window
    start = 2 * tw
    bundles = (len(data.times) - start) // tw
    if bundles < 1:
        raise ValueError(f"{len(data.times)} frames leave no bundle to predict after the 2 x {tw} given ones")
    predicted = torch.cat([grid_rollout(model, data.u[i:i + batch_size], data.params[i:i + batch_size], data.grid,
                                        start, bundles, data.dt) for i in range(0, len(data.u), batch_size)])
    truth = data.u[:, :, start:start + bundles * tw].transpose(1, 2).to(predicted.dtype)
    return predicted, _errors(predicted, truth, tw)


def _errors(predicted: torch.Tensor, truth: torch.Tensor, tw: int) -> dict:
    fitting = tuple(k for k in REPORTED_BUNDLES if k * tw <= truth.shape[1])
    errors = bundle_accumulated_errors(predicted, truth, tw, fitting) if fitting else {}
    errors["all"] = bundle_accumulated_errors(predicted, truth, tw, (truth.shape[1] // tw,))[truth.shape[1] // tw]
    return errors


def weno5_baseline(data: GridData, time_window: int) -> tuple[dict, float]:
    """The classical baseline on the split's grid, all trajectories solved as one batch: WENO5 on
    ``nx`` nodes from delta(0, x) at the nodes (``"reference"``: the paper's independent coarse
    solve) or from the stored first frame (``"cell"``: the cell averages), scored like the model
    on the same frames. Returns ({k: accumulated error}, seconds per trajectory)."""
    stored, t_end = data.stored, data.stored["t_end"]
    if not t_end:
        raise DatasetError("the dataset's recipe does not record t_end; the WENO5 baseline cannot be rerun")
    u0 = None if data.protocol == "reference" else data.u[:, :, 0].double().numpy()
    began = time.perf_counter()
    solved = solve_stored(stored, data.nx, t_end, data.protocol, u0=u0)  # (S, T, nx)
    seconds = (time.perf_counter() - began) / len(data.u)
    start = 2 * time_window
    bundles = (len(data.times) - start) // time_window
    frames = slice(start, start + bundles * time_window)
    truth = data.u[:, :, frames].transpose(1, 2).double()
    return _errors(torch.from_numpy(solved[:, frames]), truth, time_window), seconds
