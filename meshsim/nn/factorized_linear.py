r"""Linear layers whose weight matrix is a factorised tensor: tensor train (`TTLinear`) and Tucker
(`TuckerLinear`).

The input features are a tensor of modes ``in_modes = (m_1, ..., m_d)`` and the outputs one of
``out_modes = (n_1, ..., n_d)`` (``prod(in_modes) = in_features``, ``prod(out_modes) =
out_features``, both flattened in C order). Both layers compute ``y = x W + b`` with ``W``
(in_features, out_features) never formed in the forward pass; `dense_weight` reconstructs it (for
tests and inspection). Shapes: ``(..., in_features) -> (..., out_features)``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn


def _modes(modes: Sequence[int], name: str) -> tuple[int, ...]:
    modes = tuple(int(m) for m in modes)
    if not modes or any(m < 1 for m in modes):
        raise ValueError(f"{name} must be positive integers, got {modes}")
    return modes


def _ranks(ranks: int | Sequence[int], count: int, name: str) -> tuple[int, ...]:
    ranks = (int(ranks),) * count if isinstance(ranks, int) else tuple(int(r) for r in ranks)
    if len(ranks) != count or any(r < 1 for r in ranks):
        raise ValueError(f"{name} must be {count} positive integers (or one), got {ranks}")
    return ranks


class TTLinear(nn.Module):
    r"""Tensor-train (TT-matrix) linear layer (Novikov et al., "Tensorizing neural networks", 2015):

    .. math::
        W[(i_1 \dots i_d), (j_1 \dots j_d)] = G_1[:, i_1, j_1, :] \, G_2[:, i_2, j_2, :] \cdots G_d[:, i_d, j_d, :]

    with cores ``G_k`` of shape ``(r_{k-1}, m_k, n_k, r_k)`` and ``r_0 = r_d = 1``; parameters
    ``sum_k r_{k-1} m_k n_k r_k`` (+ bias) instead of ``prod(m) prod(n)``.

    Args:
        in_modes: (m_1, ..., m_d), product = in_features.
        out_modes: (n_1, ..., n_d), product = out_features, same length d.
        ranks: the d - 1 inner TT ranks (one int for all).
        bias: add a learned bias (out_features,).

    The forward pass contracts the input with one core at a time (never forming W). Cores are
    initialised so that W's entries have variance ``1 / in_features``, as `nn.Linear`'s roughly.
    """

    def __init__(self, in_modes: Sequence[int], out_modes: Sequence[int], ranks: int | Sequence[int] = 8,
                 bias: bool = True):
        super().__init__()
        self.in_modes, self.out_modes = _modes(in_modes, "in_modes"), _modes(out_modes, "out_modes")
        if len(self.in_modes) != len(self.out_modes):
            raise ValueError(f"in_modes {self.in_modes} and out_modes {self.out_modes} must have the same length")
        d = len(self.in_modes)
        self.ranks = (1, *_ranks(ranks, d - 1, "ranks"), 1)
        self.in_features, self.out_features = math.prod(self.in_modes), math.prod(self.out_modes)
        std = (1.0 / (self.in_features * math.prod(self.ranks))) ** (0.5 / d)
        self.cores = nn.ParameterList(
            nn.Parameter(torch.randn(self.ranks[k], self.in_modes[k], self.out_modes[k], self.ranks[k + 1]) * std)
            for k in range(d))
        self.bias = nn.Parameter(torch.zeros(self.out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        # t: (batch, modes m_k .. m_d still to contract, outputs n_1 .. n_{k-1} so far, rank r_{k-1})
        t = x.reshape(-1, *self.in_modes, 1)
        for k, core in enumerate(self.cores):
            batch, m = t.shape[0], self.in_modes[k]
            rest = math.prod(self.in_modes[k + 1:])
            t = t.reshape(batch, m, rest, -1, self.ranks[k])
            t = torch.einsum("bmsor,rmnq->bsonq", t, core)
        y = t.reshape(*lead, self.out_features)
        return y if self.bias is None else y + self.bias

    def dense_weight(self) -> torch.Tensor:
        """W (in_features, out_features) reconstructed from the cores."""
        w = self.cores[0][0]  # (m_1, n_1, r_1)
        for core in self.cores[1:]:
            w = torch.einsum("abr,rmnq->ambnq", w, core)
            w = w.reshape(w.shape[0] * w.shape[1], w.shape[2] * w.shape[3], w.shape[4])
        return w[..., 0]

    def extra_repr(self) -> str:
        return f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks[1:-1]}"


class TuckerLinear(nn.Module):
    r"""Tucker-factorised linear layer: W, seen as the order-2d tensor of modes
    ``(m_1, ..., m_d, n_1, ..., n_d)``, is a core ``C`` (r_1, ..., r_2d) times one factor matrix
    per mode, ``W = C x_1 U_1 x_2 U_2 ... x_2d U_2d`` with ``U_k`` (mode_k, r_k).

    Args:
        in_modes, out_modes: as `TTLinear`, but their lengths may differ (e.g. ``(64,)`` and
            ``(T, ny, nx)``: one factor for the inputs, one per axis of the output tensor).
        ranks: the 2d Tucker ranks, input modes first (one int for all, capped at each mode's size).
        bias: add a learned bias (out_features,).

    Forward: the input is projected onto the input factors, contracted with the core and expanded
    by the output factors, never forming W. Initialised so that W's entries have variance about
    ``1 / in_features``.
    """

    def __init__(self, in_modes: Sequence[int], out_modes: Sequence[int], ranks: int | Sequence[int] = 8,
                 bias: bool = True):
        super().__init__()
        self.in_modes, self.out_modes = _modes(in_modes, "in_modes"), _modes(out_modes, "out_modes")
        modes = self.in_modes + self.out_modes
        if isinstance(ranks, int):
            ranks = [min(ranks, m) for m in modes]
        self.ranks = _ranks(ranks, len(modes), "ranks")
        self.in_features, self.out_features = math.prod(self.in_modes), math.prod(self.out_modes)
        self.factors = nn.ParameterList(nn.Parameter(torch.randn(m, r) / math.sqrt(r)) for m, r in zip(modes, self.ranks))
        self.core = nn.Parameter(torch.randn(*self.ranks) / math.sqrt(self.in_features))
        self.bias = nn.Parameter(torch.zeros(self.out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead, d = x.shape[:-1], len(self.in_modes)
        t = x.reshape(-1, *self.in_modes)
        for k in range(d):  # project input mode k (always axis 1) onto its factor; it moves to the end
            t = torch.tensordot(t, self.factors[k], dims=([1], [0]))
        t = torch.tensordot(t, self.core, dims=(list(range(1, d + 1)), list(range(d))))
        for factor in self.factors[d:]:  # expand output rank k (axis 1) by its factor; the mode moves to the end
            t = torch.tensordot(t, factor, dims=([1], [1]))
        y = t.reshape(*lead, self.out_features)
        return y if self.bias is None else y + self.bias

    def dense_weight(self) -> torch.Tensor:
        """W (in_features, out_features) reconstructed from the core and factors."""
        w = self.core
        for factor in self.factors:  # mode k of the core (always axis 0) -> full mode, moved to the end
            w = torch.tensordot(w, factor, dims=([0], [1]))
        return w.reshape(self.in_features, self.out_features)

    def extra_repr(self) -> str:
        return f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}"
