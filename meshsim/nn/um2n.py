"""UM2N, the universal mesh movement network (Zhang et al., NeurIPS 2024): a graph-transformer
encoder and a local edge extractor read the mesh and its monitor, and a deformer of graph-attention
layers moves every node to an attention-weighted mean of its neighbours' coordinates, boundary
nodes re-projected onto their boundary after each layer.

Boundary constraints are tensors, so the model needs nothing of meshsim: ``boundary`` (N, 4) holds
``[n_x, n_y, offset, fixed]`` per node (`meshsim.movement.SlidingBoundary.as_array`): a node with a
nonzero normal n slides on the line ``n . x = offset``, a node with ``fixed = 1`` stays where it
started, the others are free.
"""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .graph_transformer import GraphTransformerEncoder


def target_offsets(edge_index: torch.Tensor, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``edge_index`` sorted by target (stable; unchanged if it already is) and the (N + 1,) offsets
    of each node's incoming edges."""
    target = edge_index[1]
    if len(target) > 1 and bool((target[1:] < target[:-1]).any()):
        edge_index = edge_index[:, torch.argsort(target, stable=True)]
    counts = torch.bincount(edge_index[1], minlength=num_nodes)
    return edge_index, torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])


def segment_softmax(scores: torch.Tensor, target: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Softmax (E, H) of edge ``scores`` over the incoming edges of each target (edges sorted by
    target, ``offsets`` from `target_offsets`)."""
    peak = torch.segment_reduce(scores.detach(), "max", offsets=offsets, axis=0)  # a constant: exact gradient
    peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
    weights = torch.exp(scores - peak[target])
    total = torch.zeros(len(offsets) - 1, scores.shape[1], dtype=scores.dtype, device=scores.device)
    return weights / total.index_add_(0, target, weights)[target]


def weighted_sum(weights: torch.Tensor, values: torch.Tensor, edge_index: torch.Tensor,
                 offsets: torch.Tensor) -> torch.Tensor:
    """``out[i, h] = sum_{j -> i} weights[e, h] values[j, h]``: (N, H, C) from weights (E, H) and
    values (N, H, C). Without autograd, one sparse CSR product per head (about 4x faster on CPU
    than gathering (E, H, C) messages); with it, gather and index_add (CSR products have slow
    backward passes)."""
    source, target = edge_index
    n, heads = values.shape[0], values.shape[1]
    if torch.is_grad_enabled():
        messages = weights[:, :, None] * values[source]
        out = torch.zeros(n, *values.shape[1:], dtype=values.dtype, device=values.device)
        return out.index_add_(0, target, messages)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.stack([torch.sparse.mm(torch.sparse_csr_tensor(offsets, source, weights[:, h].contiguous(),
                                                                    size=(n, n)), values[:, h])
                            for h in range(heads)], dim=1)


def project_to_boundary(x: torch.Tensor, start: torch.Tensor, boundary: torch.Tensor) -> torch.Tensor:
    """``x`` (N, 2) with sliding nodes put back on their line and fixed nodes at ``start``."""
    normal, offset, fixed = boundary[:, :2], boundary[:, 2:3], boundary[:, 3:4] > 0.5
    x = x - ((x * normal).sum(dim=1, keepdim=True) - offset) * normal  # zero normal: unchanged
    return torch.where(fixed, start, x)


class LocalFeatureExtractor(nn.Module):
    r"""Edge MLP summed over each node's incoming edges (UM2N's local feature extractor):

    .. math::
        l_i = \sum_{j \to i} \big[\mathrm{MLP}(x_j - x_i, |x_j - x_i|, f_i, f_j),\; |x_j - x_i|\big]

    with three SELU layers (hidden 64) and ``out_dim - 1`` MLP outputs plus the edge length.
    """

    def __init__(self, feature_dim: int = 1, out_dim: int = 16, hidden_dim: int = 64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(3 + 2 * feature_dim, hidden_dim), nn.SELU(),
                                 nn.Linear(hidden_dim, hidden_dim), nn.SELU(),
                                 nn.Linear(hidden_dim, out_dim - 1), nn.SELU())

    def forward(self, pos: torch.Tensor, features: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        source, target = edge_index
        delta = pos[source] - pos[target]
        length = delta.norm(dim=1, keepdim=True)
        messages = torch.cat([self.mlp(torch.cat([delta, length, features[target], features[source]], dim=1)),
                              length], dim=1)
        return torch.zeros(len(pos), messages.shape[1], dtype=pos.dtype, device=pos.device).index_add_(0, target,
                                                                                                        messages)


class DeformGAT(nn.Module):
    r"""One deformer layer: multi-head graph attention whose coordinate output is an attention-
    weighted mean of the neighbours' coordinates (no self loop), averaged over heads:

    .. math::
        a_{ij}^h = \mathrm{softmax}_j\, \mathrm{SELU}(s\,(\alpha^h_l \cdot W h_j + \alpha^h_r \cdot W h_i)),
        \qquad x'_i = \frac{1}{H} \sum_h \sum_{j \to i} a_{ij}^h x_j

    with s = 0.2 for the coordinates and s = 1 for the features
    ``h'_i = SELU(mean_h sum_j a_ij^h W h_j)``, as in UM2N's deformer.
    """

    def __init__(self, in_dim: int, out_dim: int, heads: int = 6, coordinate_scale: float = 0.2):
        super().__init__()
        self.heads, self.out_dim, self.scale = heads, out_dim, coordinate_scale
        self.linear = nn.Linear(in_dim, heads * out_dim)
        self.att_source = nn.Parameter(torch.empty(1, heads, out_dim))
        self.att_target = nn.Parameter(torch.empty(1, heads, out_dim))
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        nn.init.xavier_uniform_(self.att_source)
        nn.init.xavier_uniform_(self.att_target)

    def forward(self, x: torch.Tensor, features: torch.Tensor, edge_index: torch.Tensor, offsets: torch.Tensor,
                need_features: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (N, 2), features (N, in_dim), edges sorted by target with their `target_offsets`;
        -> new coordinates (N, 2) and features (N, out_dim) (None unless ``need_features``)."""
        source, target = edge_index
        n = len(x)
        h = self.linear(features).view(n, self.heads, self.out_dim)
        score_source, score_target = (h * self.att_source).sum(-1), (h * self.att_target).sum(-1)  # (N, H)
        raw = score_source[source] + score_target[target]  # (E, H)
        weights_x = segment_softmax(F.selu(self.scale * raw), target, offsets)
        coords = weighted_sum(weights_x, x[:, None, :].expand(n, self.heads, 2), edge_index, offsets).mean(dim=1)
        if not need_features:
            return coords, None
        weights_h = segment_softmax(F.selu(raw), target, offsets)
        return coords, F.selu(weighted_sum(weights_h, h, edge_index, offsets).mean(dim=1))


class UM2N(nn.Module):
    """Mesh movement network (see the module doc).

    Args:
        embed_dim, heads, encoder_layers, global_dim: graph-transformer encoder of
            ``[x, y, monitor / max]`` (UM2N: 64, 4, 1, 16).
        max_keys: keys per graph in the encoder's attention (None: dense O(N^2) attention).
        local_dim: output of the local edge extractor (UM2N: 16).
        deformer_hidden: width of the deformer's input layer (UM2N: 254).
        deformer_dims: per-head feature width of each deformer layer (UM2N: 508, 250, 120, 20).
        deformer_heads: attention heads of the deformer (UM2N: 6).

    Forward: ``pos`` (N, 2) computational coordinates, ``monitor`` (N, 1) monitor / its max per
    graph, ``boundary`` (N, 4), ``edge_index`` (2, E) both directions, ``batch`` (N,) and ``ptr``
    (B+1,) of the batch (one graph when None) -> (N, 2) moved coordinates.
    """

    def __init__(self, embed_dim: int = 64, heads: int = 4, encoder_layers: int = 1, global_dim: int = 16,
                 max_keys: int | None = 256, local_dim: int = 16, deformer_hidden: int = 254,
                 deformer_dims: tuple[int, ...] = (508, 250, 120, 20), deformer_heads: int = 6):
        super().__init__()
        self.encoder = GraphTransformerEncoder(3, global_dim, embed_dim, heads, encoder_layers, max_keys)
        self.local = LocalFeatureExtractor(1, local_dim)
        self.lift = nn.Linear(3 + global_dim + local_dim, deformer_hidden)
        layers, history = [], 1
        in_dim = deformer_hidden + 2
        for out_dim in deformer_dims:
            layers.append(DeformGAT(in_dim, out_dim, deformer_heads))
            history += 1
            in_dim = 2 * history + out_dim  # every coordinate so far and this layer's features
        self.deformer = nn.ModuleList(layers)

    def forward(self, pos: torch.Tensor, monitor: torch.Tensor, boundary: torch.Tensor, edge_index: torch.Tensor,
                batch: torch.Tensor | None = None, ptr: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        if batch is None:
            batch = torch.zeros(len(pos), dtype=torch.long, device=pos.device)
            ptr = torch.tensor([0, len(pos)], device=pos.device)
        on_boundary = ((boundary[:, :2] != 0).any(dim=1, keepdim=True) | (boundary[:, 3:4] > 0.5)).to(pos.dtype)
        mesh_features = torch.cat([pos, monitor], dim=1)
        global_features = self.encoder(mesh_features, pos, batch, ptr, generator)
        local_features = self.local(pos, monitor, edge_index)
        hidden = F.selu(self.lift(torch.cat([pos, on_boundary, local_features, global_features], dim=1)))
        edge_index, offsets = target_offsets(edge_index, len(pos))
        coordinates = [pos]
        features = torch.cat([pos, hidden], dim=1)
        for k, layer in enumerate(self.deformer):
            last = k == len(self.deformer) - 1
            x, hidden = layer(coordinates[-1], features, edge_index, offsets, need_features=not last)
            coordinates.append(project_to_boundary(x, pos, boundary))
            if not last:
                features = torch.cat([*coordinates[::-1], hidden], dim=1)
        return coordinates[-1]
