r"""Surrogates of a parametric PDE that map a parameter vector to a whole solution tensor:
`STNN` (stacked tensorial neural network), and two baselines, `ParametricMLP` and `PODMLP`.

STNN (Wagner, "Stacked tensorial neural networks for reduced-order modeling of a parametric
partial differential equation", 2023) combines K tensorial networks, each a linear map with a
tensor-train (or Tucker) factorised weight, with weights that a small softmax network computes
from the parameters:

.. math::
    u(p) = \sum_{k=1}^{K} g_k(p) \, \big( \phi(p) W_k + b_k \big), \qquad
    g(p) = \mathrm{softmax}(\mathrm{MLP}_g(p)),

where ``W_k`` is a `TTLinear` / `TuckerLinear` whose output modes are the solution tensor's own
axes (e.g. (t, y, x)). The paper's tensor networks read boundary data; here the parameters are
the only input, so a small MLP ``phi`` lifts them to the tensor networks' input modes.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .factorized_linear import TTLinear, TuckerLinear
from .mlp import MLP

FACTORIZATIONS = {"tt": TTLinear, "tucker": TuckerLinear}


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class STNN(nn.Module):
    """Stacked tensorial neural network: parameters (B, P) -> solution tensors (B, *out_shape).

    Args:
        num_params: P, the parameter vector's length (normalised parameters, e.g. in [-1, 1]).
        out_shape: shape of one solution tensor, e.g. (T, ny, nx).
        in_modes: the tensor networks' input modes (the lifted features, prod(in_modes) of them).
        out_modes: their output modes (default ``out_shape``; any factorisation of its product).
        ranks: TT ranks (d - 1 of them) or Tucker ranks (2d), or one int for all.
        num_experts: K, the tensor networks stacked.
        factorization: ``"tt"`` (tensor train) or ``"tucker"``.
        hidden_dim, num_hidden_layers: the lifting MLP phi (SiLU).
        gate_dim, gate_layers: the softmax embedding's MLP (ReLU, as the paper's).
    """

    def __init__(self, num_params: int, out_shape: Sequence[int], in_modes: Sequence[int] = (4, 4, 4),
                 out_modes: Sequence[int] | None = None, ranks: int | Sequence[int] = 16, num_experts: int = 4,
                 factorization: str = "tt", hidden_dim: int = 64, num_hidden_layers: int = 2, gate_dim: int = 32,
                 gate_layers: int = 2):
        super().__init__()
        if factorization not in FACTORIZATIONS:
            raise ValueError(f"factorization must be one of {sorted(FACTORIZATIONS)}, got {factorization!r}")
        self.out_shape = tuple(int(n) for n in out_shape)
        out_modes = self.out_shape if out_modes is None else tuple(out_modes)
        if math.prod(out_modes) != math.prod(self.out_shape):
            raise ValueError(f"out_modes {out_modes} do not factorise out_shape {self.out_shape}")
        if num_experts < 1:
            raise ValueError(f"num_experts must be >= 1, got {num_experts}")
        layer = FACTORIZATIONS[factorization]
        self.lift = MLP(num_params, math.prod(in_modes), hidden_dim, num_hidden_layers, nn.SiLU, layer_norm=False)
        self.gate = MLP(num_params, num_experts, gate_dim, gate_layers, nn.ReLU, layer_norm=False)
        self.experts = nn.ModuleList(layer(in_modes, out_modes, ranks) for _ in range(num_experts))

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        features = self.lift(params)
        weights = torch.softmax(self.gate(params), dim=-1)  # (B, K)
        out = sum(weights[:, k, None] * expert(features) for k, expert in enumerate(self.experts))
        return out.reshape(-1, *self.out_shape)


def mlp_width_for(budget: int, in_dim: int, out_dim: int, num_hidden_layers: int) -> int:
    """Largest hidden width of an `MLP` (in_dim -> out_dim, ``num_hidden_layers`` hidden layers,
    no LayerNorm) with at most ``budget`` parameters (at least 1)."""
    def size(width: int) -> int:
        return count_parameters(MLP(in_dim, out_dim, width, num_hidden_layers, layer_norm=False)) if width else 0

    low, high = 1, 1
    while size(high) <= budget:
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if size(middle) <= budget else (low, middle)
    return low


class ParametricMLP(nn.Module):
    """Plain MLP baseline: parameters (B, P) -> solution tensors (B, *out_shape) through
    ``num_hidden_layers`` hidden layers of ``hidden_dim`` (SiLU); `mlp_width_for` finds the width
    that matches another model's parameter count."""

    def __init__(self, num_params: int, out_shape: Sequence[int], hidden_dim: int = 64, num_hidden_layers: int = 2):
        super().__init__()
        self.out_shape = tuple(int(n) for n in out_shape)
        self.mlp = MLP(num_params, math.prod(self.out_shape), hidden_dim, num_hidden_layers, nn.SiLU, layer_norm=False)

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        return self.mlp(params).reshape(-1, *self.out_shape)


class PODMLP(nn.Module):
    """POD + MLP baseline (Hesthaven & Ubbiali 2018): the solution is the training mean plus a
    combination of r POD modes (the leading left singular vectors of the centred training
    snapshots), whose coefficients an MLP computes from the parameters.

    Args:
        num_params: P.
        mean: (prod(out_shape),) training mean, flattened.
        basis: (prod(out_shape), r) orthonormal POD modes (fixed buffers, not trained).
        out_shape: shape of one solution tensor.
        hidden_dim, num_hidden_layers: the coefficient MLP (SiLU).
    """

    def __init__(self, num_params: int, mean: torch.Tensor, basis: torch.Tensor, out_shape: Sequence[int],
                 hidden_dim: int = 64, num_hidden_layers: int = 2):
        super().__init__()
        self.out_shape = tuple(int(n) for n in out_shape)
        if basis.shape[0] != math.prod(self.out_shape) or mean.shape != (basis.shape[0],):
            raise ValueError(f"basis {tuple(basis.shape)} and mean {tuple(mean.shape)} do not fit out_shape "
                             f"{self.out_shape}")
        self.register_buffer("mean", mean.clone())
        self.register_buffer("basis", basis.clone())
        self.mlp = MLP(num_params, basis.shape[1], hidden_dim, num_hidden_layers, nn.SiLU, layer_norm=False)

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        return (self.mean + self.mlp(params) @ self.basis.T).reshape(-1, *self.out_shape)


def pod_basis(snapshots: torch.Tensor, num_modes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean (F,), basis (F, r), singular values (min(S, F),)) of snapshots (S, F): the leading
    ``num_modes`` left singular vectors of the centred snapshot matrix, in float64 then cast back."""
    data = snapshots.reshape(len(snapshots), -1).double()
    mean = data.mean(dim=0)
    _, singular, vh = torch.linalg.svd(data - mean, full_matrices=False)
    if num_modes > vh.shape[0]:
        raise ValueError(f"{num_modes} POD modes asked for, but {len(snapshots)} snapshots give at most {vh.shape[0]}")
    dtype = snapshots.dtype
    return mean.to(dtype), vh[:num_modes].T.contiguous().to(dtype), singular.to(dtype)
