"""Losses and measures of moved meshes, in torch: signed cell areas, UM2N's element-area L1 and
Chamfer distance, tangled cells."""
from __future__ import annotations

import torch
from torch_geometric.utils import to_dense_batch


def signed_areas(pos: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """(M,) signed areas of the triangles ``face`` (3, M) on points ``pos`` (N, 2)."""
    a, b, c = pos[face[0]], pos[face[1]], pos[face[2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def element_area_loss(prediction: torch.Tensor, target: torch.Tensor, face: torch.Tensor, num_graphs: int,
                      scale: float = 300.0) -> torch.Tensor:
    """UM2N's area loss: ``sum_cells |scale A_pred - scale A_target| / num_graphs``, the areas
    signed as the target's (an inverted predicted cell counts its full area twice)."""
    target_area = signed_areas(target, face)
    sign = torch.sign(target_area)
    return (scale * (sign * signed_areas(prediction, face) - sign * target_area)).abs().sum() / num_graphs


def chamfer_distance(prediction: torch.Tensor, target: torch.Tensor, batch: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric Chamfer distance between the point sets of each graph (pytorch3d's definition:
    mean over points of the squared distance to the nearest point of the other set, both ways),
    averaged over graphs."""
    if batch is None:
        batch = torch.zeros(len(prediction), dtype=torch.long, device=prediction.device)
    p, mask = to_dense_batch(prediction, batch)
    t, _ = to_dense_batch(target, batch)
    distance = torch.cdist(p, t) ** 2  # (B, N, N)
    invalid = ~(mask[:, :, None] & mask[:, None, :])
    distance = distance.masked_fill(invalid, float("inf"))
    counts = mask.sum(dim=1).to(prediction.dtype)
    forward = distance.min(dim=2).values.masked_fill(~mask, 0.0).sum(dim=1) / counts
    backward = distance.min(dim=1).values.masked_fill(~mask, 0.0).sum(dim=1) / counts
    return (forward + backward).mean()


def tangled_cells(moved: torch.Tensor, start: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """Ids of the cells whose signed area changed sign (or vanished) from ``start`` to ``moved``."""
    before, after = torch.sign(signed_areas(start, face)), torch.sign(signed_areas(moved, face))
    return torch.nonzero(after != before).flatten()
