"""Neural-operator layers on a regular latent grid: `SpectralConv2d`, `FNO2d`, and the graph neural
operators between scattered points and the grid (`grid_pairs`, `PointsToGrid`, `GridToPoints`).

Written here rather than taken from the neuraloperator library: its FNO measured no faster on this
machine and pulls tensorly, tensorly-torch and wandb (tools/bench_giorom.py prints both timings
when neuraloperator is installed).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .mlp import MLP


class SpectralConv2d(nn.Module):
    r"""Fourier layer of Li et al. (2021): :math:`(K v)(x) = \mathcal{F}^{-1}(R \cdot \mathcal{F} v)(x)`,
    with complex weights R on the lowest ``modes`` frequencies of each axis (both signs on the
    first axis, the half spectrum on the second).

    Shapes: ``(B, C_in, H, W) -> (B, C_out, H, W)``; ``modes <= H // 2`` and ``modes <= W // 2 + 1``.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int):
        super().__init__()
        self.modes = modes
        scale = 1.0 / (in_channels * out_channels)
        shape = (2, in_channels, out_channels, modes, modes)
        self.weight = nn.Parameter(scale * torch.randn(*shape, dtype=torch.cfloat))
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        m = self.modes
        if m > h // 2 or m > w // 2 + 1:
            raise ValueError(f"{m} modes do not fit a {h} x {w} grid")
        spectrum = torch.fft.rfft2(x, norm="ortho")
        out = torch.zeros(b, self.out_channels, h, w // 2 + 1, dtype=spectrum.dtype, device=x.device)
        out[:, :, :m, :m] = torch.einsum("bixy,ioxy->boxy", spectrum[:, :, :m, :m], self.weight[0])
        out[:, :, -m:, :m] = torch.einsum("bixy,ioxy->boxy", spectrum[:, :, -m:, :m], self.weight[1])
        return torch.fft.irfft2(out, s=(h, w), norm="ortho")


class FNO2d(nn.Module):
    r"""Fourier neural operator on a 2D grid: lift, ``num_layers`` of
    :math:`v \leftarrow \sigma(K v + W v)` (no activation after the last), project.

    Shapes: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 32, modes: int = 12, num_layers: int = 4):
        super().__init__()
        self.lift = nn.Conv2d(in_channels, width, 1)
        self.spectral = nn.ModuleList(SpectralConv2d(width, width, modes) for _ in range(num_layers))
        self.pointwise = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(num_layers))
        self.project = nn.Sequential(nn.Conv2d(width, 2 * width, 1), nn.GELU(), nn.Conv2d(2 * width, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lift(x)
        for k, (spectral, pointwise) in enumerate(zip(self.spectral, self.pointwise)):
            x = spectral(x) + pointwise(x)
            if k < len(self.spectral) - 1:
                x = F.gelu(x)
        return self.project(x)


def grid_nodes(size: int, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """(size^2, 2) coordinates of a size x size grid spanning [lower, upper] (row-major: node
    i * size + j at (x_i, y_j))."""
    axes = [torch.linspace(float(lower[k]), float(upper[k]), size, dtype=lower.dtype) for k in range(2)]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)


def grid_pairs(points: torch.Tensor, size: int, lower: torch.Tensor, upper: torch.Tensor,
               radius: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All (point, grid node) pairs closer than ``radius``, found without a search tree: each
    point only looks at the grid nodes of the window its radius spans.

    Args:
        points: (N, 2); the grid is size x size over [lower, upper].
    Returns:
        point index (P,), node index (P,) and the offsets ``(point - node) / radius`` (P, 2).
    """
    spacing = (upper - lower) / (size - 1)
    reach = int(math.ceil(radius / float(spacing.min())))
    centre = torch.round((points - lower) / spacing).long()
    offsets = torch.arange(-reach, reach + 1, device=points.device)
    window = torch.stack(torch.meshgrid(offsets, offsets, indexing="ij"), -1).reshape(-1, 2)
    cells = centre[:, None, :] + window[None]  # (N, W, 2)
    node_pos = lower + cells.to(points.dtype) * spacing
    relative = (points[:, None, :] - node_pos) / radius
    keep = (relative.norm(dim=-1) < 1.0) & ((cells >= 0) & (cells < size)).all(-1)
    point_index = torch.arange(len(points), device=points.device)[:, None].expand_as(keep)[keep]
    cells = cells[keep]
    return point_index, cells[:, 0] * size + cells[:, 1], relative[keep]


def _mean_into(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Mean of the rows of ``values`` (P, C) per ``index`` (P,) into (size, C); zeros where none."""
    total = values.new_zeros(size, values.shape[1]).index_add_(0, index, values)
    count = torch.bincount(index, minlength=size).clamp(min=1).to(values.dtype)
    return total / count[:, None]


class PointsToGrid(nn.Module):
    r"""Graph neural operator from scattered points to grid nodes (a nonlinear kernel integral):
    :math:`g(z) = \frac{1}{|B_r(z)|} \sum_{y \in B_r(z)} \kappa([ (y - z) / r, h(y) ])`.

    Shapes: ``forward(h (N, C_in), pairs from grid_pairs, num_nodes) -> (num_nodes, C_out)``.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 64):
        super().__init__()
        self.kernel = MLP(2 + in_channels, out_channels, hidden, 2, nn.GELU, layer_norm=False)

    def forward(self, h: torch.Tensor, pairs, num_nodes: int) -> torch.Tensor:
        point, node, relative = pairs
        return _mean_into(self.kernel(torch.cat([relative, h.index_select(0, point)], -1)), node, num_nodes)


class GridToPoints(nn.Module):
    r"""Graph neural operator from grid nodes back to points (a linear kernel integral):
    :math:`h(y) = \frac{1}{|B_r(y)|} \sum_{z \in B_r(y)} \kappa((y - z) / r) \odot W g(z)`.

    Shapes: ``forward(g (num_nodes, C_in), pairs from grid_pairs, num_points) -> (num_points, C_out)``.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 64):
        super().__init__()
        self.kernel = MLP(2, out_channels, hidden, 2, nn.GELU, layer_norm=False)
        self.value = nn.Linear(in_channels, out_channels)

    def forward(self, g: torch.Tensor, pairs, num_points: int) -> torch.Tensor:
        point, node, relative = pairs
        return _mean_into(self.kernel(relative) * self.value(g).index_select(0, node), point, num_points)
