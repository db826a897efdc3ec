"""A transformer encoder over the nodes of each graph of a batch, with the attention's cost
bounded by attending to at most ``max_keys`` key nodes per graph.

Dense self-attention over N nodes costs O(N^2) time and memory (16k nodes: 256M scores per
head). Here every node is a query but the keys and values are a subset of K <= ``max_keys``
nodes of its graph, so a layer costs O(N K): in training a random subset (UM2N masks 50-90% of
the keys at random while training, so its encoder is trained for exactly this), in evaluation a
deterministic, spatially even subset (every (N/K)-th node along a Morton curve through the
positions). Graphs with at most ``max_keys`` nodes get exact full attention; ``max_keys=None``
always does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import to_dense_batch


def morton_order(pos: torch.Tensor) -> torch.Tensor:
    """Permutation (N,) sorting 2D points (N, 2) along a Z-order (Morton) curve of their bounding box."""
    low, high = pos.min(dim=0).values, pos.max(dim=0).values
    grid = ((pos - low) / (high - low).clamp_min(1e-12) * 65535).long().clamp(0, 65535)
    code = torch.zeros(len(pos), dtype=torch.long, device=pos.device)
    for bit in range(16):
        code |= ((grid[:, 0] >> bit) & 1) << (2 * bit)
        code |= ((grid[:, 1] >> bit) & 1) << (2 * bit + 1)
    return torch.argsort(code)


def key_indices(pos: torch.Tensor, ptr: torch.Tensor, max_keys: int | None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Key nodes per graph: (B, K) local node indices and a (B, K) validity mask, K the largest
    per-graph key count. Random (``generator``) or Morton-even (None) subsets of graphs larger
    than ``max_keys``; all nodes of the others."""
    counts = (ptr[1:] - ptr[:-1]).tolist()
    chosen = []
    for g, n in enumerate(counts):
        if max_keys is None or n <= max_keys:
            chosen.append(torch.arange(n, device=pos.device))
        elif generator is not None:
            chosen.append(torch.randperm(n, generator=generator)[:max_keys].to(pos.device))
        else:
            order = morton_order(pos[ptr[g]:ptr[g + 1]])
            chosen.append(order[torch.linspace(0, n - 1, max_keys, device=pos.device).round().long()])
    width = max(len(c) for c in chosen)
    keys = torch.zeros(len(counts), width, dtype=torch.long, device=pos.device)
    valid = torch.zeros(len(counts), width, dtype=torch.bool, device=pos.device)
    for g, c in enumerate(chosen):
        keys[g, :len(c)], valid[g, :len(c)] = c, True
    return keys, valid


class TransformerBlock(nn.Module):
    r"""Pre-norm transformer block over dense (B, N, d) node features with keys/values gathered
    at ``keys`` (B, K) (``valid`` (B, K) masks padding):

    .. math::
        h \leftarrow h + \mathrm{MHA}(\mathrm{LN}(h), \mathrm{LN}(h)_{keys}), \qquad
        h \leftarrow h + W_2\, \mathrm{GELU}(W_1 \mathrm{LN}(h))
    """

    def __init__(self, dim: int, heads: int, dense_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"embedding dim {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.norm_attention, self.norm_dense = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dense = nn.Sequential(nn.Linear(dim, dense_ratio * dim), nn.GELU(), nn.Dropout(dropout),
                                   nn.Linear(dense_ratio * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, keys: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        b, n, d = h.shape
        q, k, v = self.qkv(self.norm_attention(h)).chunk(3, dim=-1)
        gather = keys[:, :, None].expand(-1, -1, d)
        k, v = torch.gather(k, 1, gather), torch.gather(v, 1, gather)
        split = lambda t: t.view(b, t.shape[1], self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        attended = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=valid[:, None, None, :],
                                                  dropout_p=self.dropout.p if self.training else 0.0)
        h = h + self.dropout(self.out(attended.transpose(1, 2).reshape(b, n, d)))
        return h + self.dropout(self.dense(self.norm_dense(h)))


class GraphTransformerEncoder(nn.Module):
    """Node features (N, in_dim) -> (N, out_dim): MLP embedding, ``layers`` transformer blocks
    within each graph (keys bounded by ``max_keys``, see the module doc), MLP out, SELU (UM2N's
    global feature extractor: embed 64, 4 heads, 1 layer, output 16)."""

    def __init__(self, in_dim: int, out_dim: int = 16, embed_dim: int = 64, heads: int = 4, layers: int = 1,
                 max_keys: int | None = 256, dropout: float = 0.0):
        super().__init__()
        self.max_keys = max_keys
        self.embed = nn.Sequential(nn.Linear(in_dim, embed_dim), nn.GELU(), nn.Linear(embed_dim, embed_dim), nn.GELU())
        self.blocks = nn.ModuleList(TransformerBlock(embed_dim, heads, dropout=dropout) for _ in range(layers))
        self.head = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.GELU(), nn.Linear(embed_dim, out_dim))

    def forward(self, x: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor, ptr: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """x (N, in_dim) features, pos (N, 2) positions (to choose keys), batch (N,) graph ids,
        ptr (B+1,) node offsets; ``generator`` draws random keys (training)."""
        dense, mask = to_dense_batch(self.embed(x), batch)
        keys, valid = key_indices(pos, ptr, self.max_keys, generator if self.training else None)
        for block in self.blocks:
            dense = block(dense, keys, valid)
        return F.selu(self.head(dense[mask]))
