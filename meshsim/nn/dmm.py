"""DMM, the data-free mesh mover (Hu et al., ICLR 2024): a network for the Monge-Ampere potential
``phi(xi; m)`` whose gradient moves the points, ``x = xi + grad_xi phi`` (by autograd), trained on
the Monge-Ampere residual alone, with no moved meshes as data.

A branch network encodes the monitor rasterised on a G x G grid over the domain's bounding box, a
trunk network encodes xi (scaled to the box), and phi is their DeepONet product
``sum_k b_k(m) t_k(xi)`` (``coupling="product"``, the default) or an MLP on both, as DMM's code
(``"concat"``: on this machine's budget it did not learn across 200 monitors, its training loss
flat at 0.53 for 1,500 steps, where the product reached 0.21). The layer that makes phi starts at
zero, so an untrained DMM is the identity map. The residual and its penalties (`ma_residual`, `boundary_flux`, `convexity`) are
written here in torch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .um2n import project_to_boundary


def _mlp(widths: list[int]) -> nn.Sequential:
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class DMM(nn.Module):
    """Monge-Ampere potential network.

    Args:
        grid_size: side G of the monitor raster the branch reads (after average pooling from the
            raster given, which may be finer).
        latent_dim: width of the branch and trunk outputs.
        trunk_hidden, out_hidden: hidden widths of the trunk and (``"concat"``) output MLPs (tanh).
        channels: channels of the branch's two stride-2 convolutions.
        coupling: ``"product"`` (DeepONet) or ``"concat"`` (an MLP on branch and trunk features).

    ``potential(xi, grid, box, graph)``: xi (P, 2) points, grid (B, G', G') monitor rasters (row
    i = y, column j = x) over boxes (B, 4) ``[x0, y0, x1, y1]``, graph (P,) the graph of each point
    -> phi (P,).
    """

    def __init__(self, grid_size: int = 32, latent_dim: int = 64, trunk_hidden: tuple = (64, 64),
                 out_hidden: tuple = (128, 64), channels: tuple = (8, 16), coupling: str = "product"):
        super().__init__()
        if coupling not in ("concat", "product"):
            raise ValueError(f"coupling must be 'concat' or 'product', got {coupling!r}")
        self.grid_size, self.coupling = grid_size, coupling
        c1, c2 = channels
        self.branch_conv = nn.Sequential(nn.Conv2d(1, c1, 5, stride=2, padding=2), nn.Tanh(),
                                         nn.Conv2d(c1, c2, 5, stride=2, padding=2), nn.Tanh())
        self.branch_out = nn.Linear(c2 * (grid_size // 4) ** 2, latent_dim)
        self.trunk = _mlp([2, *trunk_hidden, latent_dim])
        self.out = _mlp([2 * latent_dim, *out_hidden, 1]) if coupling == "concat" else None
        last = self.out[-1] if coupling == "concat" else self.branch_out
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def encode(self, grid: torch.Tensor) -> torch.Tensor:
        """(B, latent) branch features of monitor rasters (B, G', G'), normalised by their mean."""
        g = grid / grid.mean(dim=(1, 2), keepdim=True)
        g = F.adaptive_avg_pool2d(g[:, None], self.grid_size)
        features = self.branch_out(self.branch_conv(g).flatten(1))
        return features if self.coupling == "product" else torch.tanh(features)

    def potential(self, xi: torch.Tensor, grid: torch.Tensor, box: torch.Tensor, graph: torch.Tensor,
                  branch: torch.Tensor | None = None) -> torch.Tensor:
        branch = self.encode(grid) if branch is None else branch
        low, size = box[graph, :2], box[graph, 2:] - box[graph, :2]
        trunk = torch.tanh(self.trunk((xi - low) / size))
        if self.coupling == "product":  # DeepONet: phi = sum_k b_k(m) t_k(xi)
            return (branch[graph] * trunk).sum(dim=1)
        return self.out(torch.cat([branch[graph], trunk], dim=1))[:, 0]

    def derivatives(self, xi: torch.Tensor, grid: torch.Tensor, box: torch.Tensor, graph: torch.Tensor,
                    hessian: bool = True, branch: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """grad phi (P, 2) and, with ``hessian``, Hess phi (P, 2, 2) at xi, differentiable w.r.t. the
        parameters (for training); ``branch`` reuses `encode`'s features."""
        xi = xi.detach().requires_grad_(True)
        phi = self.potential(xi, grid, box, graph, branch)
        grad = torch.autograd.grad(phi.sum(), xi, create_graph=True)[0]
        if not hessian:
            return grad, None
        rows = [torch.autograd.grad(grad[:, k].sum(), xi, create_graph=True)[0] for k in (0, 1)]
        return grad, torch.stack(rows, dim=1)

    def forward(self, xi: torch.Tensor, grid: torch.Tensor, box: torch.Tensor, graph: torch.Tensor,
                boundary: torch.Tensor | None = None) -> torch.Tensor:
        """Moved points ``xi + grad phi`` (P, 2); with ``boundary`` (P, 4) (see `project_to_boundary`)
        sliding points are put back on their lines and fixed ones kept."""
        with torch.enable_grad():
            grad, _ = self.derivatives(xi, grid, box, graph, hessian=False)
        x = xi + grad.detach()
        return x if boundary is None else project_to_boundary(x, xi, boundary)


def sample_raster(grid: torch.Tensor, box: torch.Tensor, graph: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bilinear values (P,) of rasters (B, G, G) over boxes (B, 4) at points x (P, 2) of graphs
    ``graph`` (P,); differentiable w.r.t. x, clamped to the box."""
    low, size = box[graph, :2], box[graph, 2:] - box[graph, :2]
    unit = ((x - low) / size).clamp(0.0, 1.0) * 2.0 - 1.0  # grid_sample's [-1, 1], x first
    # one raster per point would copy the grids: group the points by graph instead
    values = torch.empty(len(x), dtype=x.dtype, device=x.device)
    for g in torch.unique(graph).tolist():
        chosen = graph == g
        sample = F.grid_sample(grid[g][None, None], unit[chosen][None, None], mode="bilinear", align_corners=True)
        values[chosen] = sample[0, 0, 0]
    return values


def ma_residual(grid: torch.Tensor, box: torch.Tensor, graph: torch.Tensor, theta: torch.Tensor, xi: torch.Tensor,
                grad: torch.Tensor, hessian: torch.Tensor) -> torch.Tensor:
    """``m(xi + grad phi) det(I + Hess phi) / theta - 1`` (P,) at collocation points xi."""
    m = sample_raster(grid, box, graph, xi + grad)
    det = (1.0 + hessian[:, 0, 0]) * (1.0 + hessian[:, 1, 1]) - hessian[:, 0, 1] * hessian[:, 1, 0]
    return m * det / theta[graph] - 1.0


def convexity(hessian: torch.Tensor) -> torch.Tensor:
    """Mean of ``min(0, 1 + phi_xx)^2 + min(0, 1 + phi_yy)^2`` (DMM's convexity penalty)."""
    return (F.relu(-(1.0 + hessian[:, 0, 0])) ** 2 + F.relu(-(1.0 + hessian[:, 1, 1])) ** 2).mean()


def boundary_flux(grad: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """Mean of ``(grad phi . n)^2``: the normal displacement of boundary points (zero when they slide)."""
    return ((grad * normals).sum(dim=1) ** 2).mean()
