"""`DenseDecoder`: GIOROM's discretisation-invariant decoder, a learned kernel integral that evaluates a
field known at sparse points at any set of query points."""
from __future__ import annotations

import torch
from torch import nn

from .mlp import MLP


class DenseDecoder(nn.Module):
    r"""Evaluate a vector field :math:`u` given at sparse points :math:`y_k` at query points :math:`q`
    by a learned moving-least-squares kernel integral:

    .. math::
        u(q) = \beta_0(q) + s \sum_k a_k c_k, \qquad
        \beta(q) = \arg\min_\beta \sum_{k \in \mathcal{N}(q)} w_k \left|u(y_k) - \beta_0
            - \beta_1^\top \tfrac{y_k - q}{\rho(q)}\right|^2 + \epsilon |\beta_1|^2

    with :math:`(\log w_k, \text{logit } a_k, c_k) = \kappa(\tfrac{y_k - q}{\rho(q)},
    \tfrac{|y_k - q|}{\rho(q)}, \tfrac{u(y_k) - \bar u}{s})` a learned kernel, :math:`a` a
    softmax over the neighbours, :math:`\mathcal{N}(q)` the K nearest sparse points of q and
    :math:`\rho(q)` the distance to the farthest of them: the kernel sees the same unit
    neighbourhood at any sampling density (discretisation invariance), and the fit reproduces
    linear fields whatever the learned weights (up to the small ridge :math:`\epsilon`); the
    learned correction :math:`c` starts at zero. :math:`s` is the scale of the field and
    :math:`\bar u` the neighbours' mean.

    Args:
        dim: dimension of points and field.
        hidden: width of the kernel MLP (2 hidden layers, GELU).
        ridge: :math:`\epsilon`, regularises the gradient where neighbours are nearly collinear.

    Shapes: ``forward(queries (Q, d), sources (S, d), values (S, d), neighbours (Q, K), scale)``
    -> (Q, d); ``neighbours`` are indices into the sources (e.g. from a k-d tree).
    """

    def __init__(self, dim: int = 2, hidden: int = 64, ridge: float = 1e-4):
        super().__init__()
        self.dim, self.ridge = dim, ridge
        self.kernel = MLP(2 * dim + 1, 2 + dim, hidden, 2, nn.GELU, layer_norm=False)
        last = self.kernel.linears[-1]
        with torch.no_grad():  # the correction starts at zero: an untrained decoder is plain MLS
            last.weight[2:].zero_()
            last.bias[2:].zero_()

    def forward(self, queries: torch.Tensor, sources: torch.Tensor, values: torch.Tensor,
                neighbours: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
        if neighbours.dim() != 2 or neighbours.shape[0] != queries.shape[0]:
            raise ValueError(f"neighbours must have shape (Q={queries.shape[0]}, K), got {tuple(neighbours.shape)}")
        offset = sources[neighbours] - queries[:, None, :]  # (Q, K, d)
        distance = offset.norm(dim=-1, keepdim=True)
        reach = distance.amax(1, keepdim=True).clamp(min=1e-12)
        offset, distance = offset / reach, distance / reach
        near = values[neighbours]  # (Q, K, d)
        out = self.kernel(torch.cat([offset, distance, (near - near.mean(1, keepdim=True)) / scale], -1))
        weight = torch.exp(out[..., 0].clamp(max=30.0))  # (Q, K)
        basis = torch.cat([torch.ones_like(distance), offset], -1)  # (Q, K, 1 + d)
        gram = torch.einsum("qk,qki,qkj->qij", weight, basis, basis)
        gram = gram + torch.diag(gram.new_tensor([0.0] + [self.ridge] * self.dim)) * weight.sum(1)[:, None, None]
        moments = torch.einsum("qk,qki,qkc->qic", weight, basis, near)
        fit = torch.linalg.solve(gram, moments)[:, 0]  # the fitted value at the query (offset 0)
        correction = (torch.softmax(out[..., 1], dim=1)[..., None] * out[..., 2:]).sum(1)
        return fit + scale * correction
