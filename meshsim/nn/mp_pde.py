"""`MPPDE`: the message-passing PDE solver of Brandstetter, Worrall & Welling (ICLR 2022)."""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import InstanceNorm

from .mlp import MLP
from .sorted_edges import TargetSortedEdges, add_gathered, aggregate


class MPPDELayer(nn.Module):
    r"""One MP-PDE message-passing layer.

    .. math::
        m_{ij} = \phi(h_i, h_j, u_i - u_j, x_i - x_j, \theta), \quad
        h_i' = \mathrm{IN}\big(h_i + \psi(h_i, \mathrm{mean}_{j \in N(i)} m_{ij}, \theta)\big)

    with :math:`\phi, \psi` two-layer Swish MLPs (Swish after both layers), IN instance
    normalisation over each graph's nodes, j the sender (``edge_index[0]``) and i the receiver.
    The first layer of :math:`\phi` is linear in its inputs, and :math:`W(u_i - u_j) = Wu_i - Wu_j`,
    so it is computed per node and gathered per edge (the concat trick with no edge term).

    Shapes: ``h (N, H), u (N, tw), pos (N, d), params (N, P)`` -> (N, H).
    """

    def __init__(self, hidden_dim: int, time_window: int, pos_dim: int, num_params: int):
        super().__init__()
        self.hidden_dim, self.time_window, self.pos_dim = hidden_dim, time_window, pos_dim
        message_in = 2 * hidden_dim + time_window + pos_dim + num_params
        self.message_mlp = MLP(message_in, hidden_dim, hidden_dim, 1, nn.SiLU, layer_norm=False)
        self.update_mlp = MLP(2 * hidden_dim + num_params, hidden_dim, hidden_dim, 1, nn.SiLU, layer_norm=False)
        self.activation = nn.SiLU()
        self.norm = InstanceNorm(hidden_dim)

    def forward(self, h: torch.Tensor, u: torch.Tensor, pos: torch.Tensor, params: torch.Tensor,
                edges: TargetSortedEdges, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        hidden, tw, d = self.hidden_dim, self.time_window, self.pos_dim
        first = self.message_mlp.first_linear
        w_receiver, w_sender = first.weight[:, :hidden], first.weight[:, hidden:2 * hidden]
        w_u, w_x = first.weight[:, 2 * hidden:2 * hidden + tw], first.weight[:, 2 * hidden + tw:2 * hidden + tw + d]
        w_params = first.weight[:, 2 * hidden + tw + d:]
        shared = u @ w_u.t() + pos @ w_x.t()
        receiver_term = torch.addmm(first.bias, h, w_receiver.t()) + shared + params @ w_params.t()
        sender_term = h @ w_sender.t() - shared
        messages = self.activation(self.message_mlp.rest(add_gathered(None, sender_term, receiver_term, edges)))
        received = aggregate(messages, edges, "mean")
        update = self.activation(self.update_mlp(torch.cat([h, received, params], dim=-1)))
        return self.norm(h + update, batch, num_graphs)


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


class MPPDE(nn.Module):
    r"""MP-PDE: encode, 6 message-passing layers, 1D-CNN decoder emitting ``tw`` steps at once.

    Encoder input per node: the last ``tw`` values of u, position / ``domain_length``, time /
    ``t_max`` and the PDE parameters :math:`\theta`. The decoder convolves the final latent
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

    Shapes: ``forward(u (N, tw), pos (N, d), time (B,) or (N,), params (B, P) or (N, P) or None,
    edge_index (2, E) sorted by target, batch (N,) or None) -> (N, tw)``; ``time`` is that of the
    last input step ``t_k``.
    """

    def __init__(self, time_window: int, num_params: int, dt: float, pos_dim: int = 1, hidden_dim: int = 128,
                 num_layers: int = 6, domain_length: float = 1.0, t_max: float = 1.0):
        super().__init__()
        self.time_window, self.num_params, self.dt, self.pos_dim = time_window, num_params, float(dt), pos_dim
        self.domain_length, self.t_max = float(domain_length), float(t_max)
        self.encoder = MLP(time_window + pos_dim + 1 + num_params, hidden_dim, hidden_dim, 1, nn.SiLU,
                           layer_norm=False)
        self.activation = nn.SiLU()
        self.layers = nn.ModuleList(MPPDELayer(hidden_dim, time_window, pos_dim, num_params)
                                    for _ in range(num_layers))
        kernel1, stride1, kernel2 = _decoder_sizes(hidden_dim, time_window)
        self.decoder = nn.Sequential(nn.Conv1d(1, 8, kernel1, stride=stride1), nn.SiLU(), nn.Conv1d(8, 1, kernel2))
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

    def forward(self, u: torch.Tensor, pos: torch.Tensor, time: torch.Tensor, params: torch.Tensor | None,
                edge_index: torch.Tensor, batch: torch.Tensor | None = None) -> torch.Tensor:
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
        edges = TargetSortedEdges.from_edge_index(edge_index, num_nodes)
        h = self.activation(self.encoder(torch.cat([u, pos, time, params], dim=-1)))
        for layer in self.layers:
            h = layer(h, u, pos, params, edges, batch, num_graphs)
        d = self.decoder(h.unsqueeze(1)).squeeze(1)
        return u[:, -1:] + self.steps * d

    def advance(self, data: Data) -> Data:
        """A shallow copy of ``data`` one bundle later: ``x`` (N, tw) the predicted window, ``time``
        advanced by tw dt. Reads ``x, pos, time, params, edge_index, batch``."""
        batch = getattr(data, "batch", None)
        window = self(data.x, data.pos, data.time, data.params, data.edge_index, batch)
        stepped = copy.copy(data)
        stepped.x = window
        stepped.time = data.time + self.time_window * self.dt
        return stepped
