"""`MPPDE`: the message-passing PDE solver of Brandstetter, Worrall & Welling (ICLR 2022)."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import InstanceNorm

from .mlp import MLP
from .sorted_edges import TargetSortedEdges, add_gathered, aggregate


def equal_block_instance_norm(h: torch.Tensor, num_graphs: int, eps: float = 1e-5) -> torch.Tensor:
    """PyG's `InstanceNorm` (no affine parameters) of ``h`` (N, H) when the N nodes are
    ``num_graphs`` consecutive blocks of equal size: each feature to zero mean and unit (biased)
    variance over each graph's nodes, in one fused kernel instead of per-graph scatters."""
    blocks = h.reshape(num_graphs, len(h) // num_graphs, -1).transpose(1, 2)
    return F.instance_norm(blocks, eps=eps).transpose(1, 2).reshape(h.shape)


class MPPDELayer(nn.Module):
    r"""One MP-PDE message-passing layer.

    .. math::
        m_{ij} = \phi(h_i, h_j, u_i - u_j, x_i - x_j, v_i), \quad
        h_i' = \mathrm{IN}\big(h_i + \psi(h_i, \mathrm{mean}_{j \in N(i)} m_{ij}, v_i)\big)

    with :math:`\phi, \psi` two-layer Swish MLPs (Swish after both layers), IN instance
    normalisation over each graph's nodes, j the sender (``edge_index[0]``) and i the receiver, and
    :math:`v = (t / t_{max}, \theta)` the time and the PDE parameters (the paper's "variables").
    The first layer of :math:`\phi` is linear in its inputs, and :math:`W(u_i - u_j) = Wu_i - Wu_j`,
    so it is computed per node and gathered per edge (the concat trick). On a periodic grid an
    edge across the seam has :math:`x_i - x_j` = (node difference) + ``edge_shift``; the shift's
    product is the only per-edge term.

    Shapes: ``h (N, H), u (N, tw), pos (N, d), variables (N, V), edge_shift (E, d) or None`` -> (N, H).
    """

    def __init__(self, hidden_dim: int, time_window: int, pos_dim: int, num_variables: int):
        super().__init__()
        self.hidden_dim, self.time_window, self.pos_dim = hidden_dim, time_window, pos_dim
        message_in = 2 * hidden_dim + time_window + pos_dim + num_variables
        self.message_mlp = MLP(message_in, hidden_dim, hidden_dim, 1, nn.SiLU, layer_norm=False)
        self.update_mlp = MLP(2 * hidden_dim + num_variables, hidden_dim, hidden_dim, 1, nn.SiLU,
                              layer_norm=False)
        self.activation = nn.SiLU()
        self.norm = InstanceNorm(hidden_dim)

    def forward(self, h: torch.Tensor, u: torch.Tensor, pos: torch.Tensor, variables: torch.Tensor,
                edges: TargetSortedEdges, batch: torch.Tensor, num_graphs: int, equal_graphs: bool = False,
                edge_shift: torch.Tensor | None = None) -> torch.Tensor:
        """``equal_graphs``: the graphs are consecutive blocks of equal size (a faster norm)."""
        hidden, tw, d = self.hidden_dim, self.time_window, self.pos_dim
        first = self.message_mlp.first_linear
        w_receiver, w_sender = first.weight[:, :hidden], first.weight[:, hidden:2 * hidden]
        w_u, w_x = first.weight[:, 2 * hidden:2 * hidden + tw], first.weight[:, 2 * hidden + tw:2 * hidden + tw + d]
        w_variables = first.weight[:, 2 * hidden + tw + d:]
        shared = torch.cat([u, pos], dim=-1) @ torch.cat([w_u, w_x], dim=-1).t()
        receiver_term = torch.addmm(first.bias, torch.cat([h, variables], dim=-1),
                                    torch.cat([w_receiver, w_variables], dim=-1).t()) + shared
        sender_term = h @ w_sender.t() - shared
        edge_term = None if edge_shift is None else edge_shift @ w_x.t()
        messages = self.activation(self.message_mlp.rest(add_gathered(edge_term, sender_term, receiver_term, edges)))
        received = aggregate(messages, edges, "mean")
        update = self.activation(self.update_mlp(torch.cat([h, received, variables], dim=-1)))
        h = h + update
        return equal_block_instance_norm(h, num_graphs, self.norm.eps) if equal_graphs else \
            self.norm(h, batch, num_graphs)


def _decoder_sizes(hidden_dim: int, time_window: int) -> tuple[int, int, int]:
    """(kernel1, stride1, kernel2) of the two convolutions mapping a length-H signal to length tw.

    For H = 128 this is the paper's (16, 3, 14) at tw = 25: lengths 128 -> 38 -> 25.
    """
    kernel1, stride1 = max(2, hidden_dim // 8), max(1, hidden_dim // 42)
    length1 = (hidden_dim - kernel1) // stride1 + 1
    if time_window > length1:
        raise ValueError(f"time_window {time_window} is too long for hidden_dim {hidden_dim}: the decoder's "
                         f"first convolution leaves {length1} values")
    return kernel1, stride1, length1 - time_window + 1


def conv_band_index(conv: nn.Conv1d, length_in: int) -> torch.Tensor:
    """Index (C_in L_in, C_out L_out) into ``[conv.weight.flatten(), 0]`` that lays a 1D convolution
    out as a banded matrix: entry ((c, p), (o, l)) is ``weight[o, c, p - stride l]`` inside the
    kernel, else the appended zero. Rows and columns in the (channel, position) order of a
    contiguous (N, C, L) tensor."""
    out_channels, in_channels, kernel = conv.weight.shape
    stride = conv.stride[0]
    length_out = (length_in - kernel) // stride + 1
    c, p, o, l = torch.meshgrid(torch.arange(in_channels), torch.arange(length_in), torch.arange(out_channels),
                                torch.arange(length_out), indexing="ij")
    tap = p - stride * l
    inside = (tap >= 0) & (tap < kernel)
    flat = (o * in_channels + c) * kernel + tap.clamp(0, kernel - 1)
    return torch.where(inside, flat, out_channels * in_channels * kernel).reshape(in_channels * length_in, -1)


def banded_conv(x: torch.Tensor, conv: nn.Conv1d, index: torch.Tensor) -> torch.Tensor:
    """``conv`` applied to ``x`` (N, C_in L_in) flattened as (channel, position), as one matrix
    product with its banded matrix (`conv_band_index`): (N, C_out L_out). Equals nn.Conv1d; on CPU
    a dense product of these small sizes is several times faster than the convolution's backward."""
    weights = torch.cat([conv.weight.reshape(-1), conv.weight.new_zeros(1)])
    length_out = index.shape[1] // conv.out_channels
    return torch.addmm(conv.bias.repeat_interleave(length_out), x, weights[index])


class MPPDE(nn.Module):
    r"""MP-PDE: encode, 6 message-passing layers, 1D-CNN decoder emitting ``tw`` steps at once.

    Encoder input per node: the last ``tw`` values of u, position / ``domain_length``, time /
    ``t_max`` and the PDE parameters :math:`\theta`; every layer's message and update also read
    time / ``t_max`` and :math:`\theta` (as in the paper's code). The decoder convolves the final latent
    (read as a 1-channel signal of length H) into :math:`d \in \mathbb{R}^{tw}` and outputs the
    temporal bundle

    .. math:: u^{k+l} = u^k + (t_{k+l} - t_k)\, d^l = u^k + l\,\Delta t\, d^l, \quad l = 1..tw.

    Works on any graph: 1D grids, irregular 1D point sets, 2D meshes (``pos_dim`` = 2).

    Args:
        time_window: tw, steps in and out.
        num_params: P, PDE parameters per graph (0 for none).
        dt: time between stored steps :math:`\Delta t`.
        pos_dim: dimension of positions.
        hidden_dim: latent width H (128).
        num_layers: message-passing layers (6).
        domain_length: positions are divided by this.
        t_max: times are divided by this.
        mixed_precision: compute under ``torch.autocast`` in bfloat16 (matrix products on the
            CPU's bfloat16 units; parameters, inputs and the output stay in their dtype).

    Shapes: ``forward(u (N, tw), pos (N, d), time (B,) or (N,), params (B, P) or (N, P) or None,
    edge_index (2, E) sorted by target, batch (N,) or None, edge_shift (E, d) or None) -> (N, tw)``;
    ``time`` is that of the last input step ``t_k``. ``edge_index`` may also be the
    `TargetSortedEdges` of a graph used again and again (built once, not per call).
    ``edge_shift``: for a periodic domain, what to add to :math:`x_i - x_j` on each edge (e.g.
    +-L on edges across the seam), so that the model sees periodic position differences.
    """

    def __init__(self, time_window: int, num_params: int, dt: float, pos_dim: int = 1, hidden_dim: int = 128,
                 num_layers: int = 6, domain_length: float = 1.0, t_max: float = 1.0, mixed_precision: bool = False):
        super().__init__()
        self.mixed_precision = mixed_precision
        self.time_window, self.num_params, self.dt, self.pos_dim = time_window, num_params, float(dt), pos_dim
        self.domain_length, self.t_max = float(domain_length), float(t_max)
        self.encoder = MLP(time_window + pos_dim + 1 + num_params, hidden_dim, hidden_dim, 1, nn.SiLU,
                           layer_norm=False)
        self.activation = nn.SiLU()
        self.layers = nn.ModuleList(MPPDELayer(hidden_dim, time_window, pos_dim, num_params + 1)
                                    for _ in range(num_layers))
        kernel1, stride1, kernel2 = _decoder_sizes(hidden_dim, time_window)
        self.decoder = nn.Sequential(nn.Conv1d(1, 8, kernel1, stride=stride1), nn.SiLU(), nn.Conv1d(8, 1, kernel2))
        length1 = (hidden_dim - kernel1) // stride1 + 1
        self.register_buffer("_band1", conv_band_index(self.decoder[0], hidden_dim), persistent=False)
        self.register_buffer("_band2", conv_band_index(self.decoder[2], length1), persistent=False)
        self.register_buffer("steps", torch.arange(1, time_window + 1, dtype=torch.float32) * self.dt)

    @staticmethod
    def _per_node(value: torch.Tensor, batch: torch.Tensor, num_graphs: int, name: str) -> torch.Tensor:
        """A per-graph (B, k) or per-node (N, k) quantity as (N, k); 1D input is read as (len, 1)."""
        value = value.reshape(-1, 1) if value.dim() <= 1 else value
        if len(value) == num_graphs:
            return value[batch]
        if len(value) == len(batch):
            return value
        raise ValueError(f"{name} must have one row per node ({len(batch)}) or per graph ({num_graphs}), "
                         f"got {len(value)}")

    @staticmethod
    def _equal_blocks(batch: torch.Tensor, num_graphs: int) -> bool:
        """Whether ``batch`` is ``num_graphs`` consecutive blocks of equal size."""
        num_nodes = len(batch)
        if num_nodes % num_graphs:
            return False
        return bool((batch == torch.arange(num_graphs, device=batch.device).repeat_interleave(
            num_nodes // num_graphs)).all())

    def forward(self, u: torch.Tensor, pos: torch.Tensor, time: torch.Tensor, params: torch.Tensor | None,
                edge_index: torch.Tensor | TargetSortedEdges, batch: torch.Tensor | None = None,
                edge_shift: torch.Tensor | None = None) -> torch.Tensor:
        with torch.autocast(u.device.type, dtype=torch.bfloat16, enabled=self.mixed_precision):
            return self._forward(u, pos, time, params, edge_index, batch, edge_shift).to(u.dtype)

    def _forward(self, u, pos, time, params, edge_index, batch, edge_shift) -> torch.Tensor:
        num_nodes = u.shape[0]
        if u.dim() != 2 or u.shape[1] != self.time_window:
            raise ValueError(f"u must have shape (N, {self.time_window}), got {tuple(u.shape)}")
        if batch is None:
            batch = torch.zeros(num_nodes, dtype=torch.long, device=u.device)
        num_graphs = int(batch.max()) + 1
        pos = pos.reshape(num_nodes, -1).to(u.dtype) / self.domain_length
        time = self._per_node(time.to(u.dtype), batch, num_graphs, "time") / self.t_max
        if params is None:
            params = u.new_zeros(num_graphs, 0)
        params = self._per_node(params.to(u.dtype), batch, num_graphs, "params")
        if params.shape[1] != self.num_params:
            raise ValueError(f"expected {self.num_params} PDE parameters, got {params.shape[1]}")
        edges = (edge_index if isinstance(edge_index, TargetSortedEdges)
                 else TargetSortedEdges.from_edge_index(edge_index, num_nodes))
        if edges.num_nodes != num_nodes:
            raise ValueError(f"the edges are of a graph of {edges.num_nodes} nodes, u has {num_nodes}")
        if edge_shift is not None:
            edge_shift = edge_shift.reshape(len(edges.source), -1).to(u.dtype) / self.domain_length
        variables = torch.cat([time, params], dim=-1)
        equal = self._equal_blocks(batch, num_graphs)
        h = self.activation(self.encoder(torch.cat([u, pos, variables], dim=-1)))
        for layer in self.layers:
            h = layer(h, u, pos, variables, edges, batch, num_graphs, equal, edge_shift)
        first, activation, second = self.decoder
        d = banded_conv(activation(banded_conv(h, first, self._band1)), second, self._band2)
        return u[:, -1:] + self.steps * d

    def advance(self, data: Data) -> Data:
        """A shallow copy of ``data`` one bundle later: ``x`` (N, tw) the predicted window, ``time``
        advanced by tw dt. Reads ``x, pos, time, params, edge_index``, and ``batch`` and
        ``edge_shift`` if present."""
        window = self(data.x, data.pos, data.time, data.params, data.edge_index, getattr(data, "batch", None),
                      getattr(data, "edge_shift", None))
        stepped = copy.copy(data)
        stepped.x = window
        stepped.time = data.time + self.time_window * self.dt
        return stepped
