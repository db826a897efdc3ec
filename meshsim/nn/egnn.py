"""E(n)-equivariant graph neural network (EGNN, Satorras, Hoogeboom & Welling 2021)."""
from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

from .mlp import MLP

#: xavier gain of the coordinate MLP's last layer: coordinates barely move at initialisation
COORD_INIT_GAIN = 1e-3
#: bound of each edge's coordinate term (x_i - x_j) phi_x(m_ij), per component, as in the reference
#: implementations of EGNN and SEGNO: it keeps one exploding edge from spoiling a training run
COORD_CLAMP = 100.0


def _small_last_layer(mlp: MLP, bias: bool = True) -> MLP:
    """``mlp`` with its last layer initialised small (xavier gain 1e-3, zero bias), or without a
    bias when ``bias`` is False."""
    last = mlp.linears[-1]
    if not bias:
        last = mlp.linears[-1] = nn.Linear(last.in_features, last.out_features, bias=False)
    nn.init.xavier_uniform_(last.weight, gain=COORD_INIT_GAIN)
    if last.bias is not None:
        nn.init.zeros_(last.bias)
    return mlp


class EGNNLayer(MessagePassing):
    r"""The E(n)-equivariant graph convolution (E_GCL) over any ``edge_index`` (fully connected,
    radius or mesh edges), with edges ``j -> i`` stored as ``edge_index[:, e] = (j, i)``.

    .. math::
        m_{ij} &= \phi_e(h_i, h_j, \|x_i - x_j\|^2, a_{ij}) \\
        s_i &= \frac{1}{\deg(i)} \sum_j \mathrm{clamp}\big((x_i - x_j)\, \phi_x(m_{ij}), \pm c\big) \\
        x_i' &= x_i + s_i \quad\text{or, velocity variant,}\quad
            v_i' = \phi_v(h_i)\, v_i^{\mathrm{init}} + s_i,\; x_i' = x_i + v_i' \\
        h_i' &= h_i + \phi_h(h_i, \textstyle\sum_j m_{ij})

    :math:`\phi_e` (two layers, SiLU after each), :math:`\phi_h`, :math:`\phi_x` and :math:`\phi_v`
    are MLPs with one hidden layer of ``hidden_dim``. The last layer of :math:`\phi_x` is initialised
    with xavier gain 1e-3 and zero bias, as in the paper. Each edge's coordinate term is clamped
    componentwise to :math:`\pm c` (``coord_clamp``, 100 as in the reference implementations of
    EGNN and SEGNO; it is inactive in normal operation and stops a diverging edge from producing
    NaN; its gradient is zero where it clamps). There is no division by distances, so coincident
    points give finite outputs and gradients. The first layer of :math:`\phi_e` is evaluated by
    parts: the ``h_i`` and ``h_j`` products per node, gathered per edge.

    Args:
        hidden_dim: width of the node features ``h`` and of all MLPs.
        edge_dim: number of invariant edge attributes ``a_ij`` (0: none).
        velocity: add the :math:`\phi_v(h_i) v_i^{\mathrm{init}}` term (needs ``vel`` in `forward`).
        coord_clamp: the bound c of each edge's coordinate term; None: no clamp.
        coord_bias: give :math:`\phi_x`'s last layer a bias (SEGNO's reference has one, EGNN's not).
    """

    def __init__(self, hidden_dim: int, edge_dim: int = 0, *, velocity: bool = False,
                 coord_clamp: float | None = COORD_CLAMP, coord_bias: bool = True):
        super().__init__(aggr=None)
        if coord_clamp is not None and not coord_clamp > 0:
            raise ValueError(f"coord_clamp must be positive or None, got {coord_clamp}")
        self.hidden_dim, self.edge_dim, self.velocity = hidden_dim, edge_dim, velocity
        self.coord_clamp = coord_clamp
        self.edge_mlp = MLP(2 * hidden_dim + 1 + edge_dim, hidden_dim, hidden_dim, 1, nn.SiLU, layer_norm=False)
        self.edge_act = nn.SiLU()
        self.node_mlp = MLP(2 * hidden_dim, hidden_dim, hidden_dim, 1, nn.SiLU, layer_norm=False)
        self.coord_mlp = _small_last_layer(MLP(hidden_dim, 1, hidden_dim, 1, nn.SiLU, layer_norm=False), coord_bias)
        self.vel_mlp = MLP(hidden_dim, 1, hidden_dim, 1, nn.SiLU, layer_norm=False) if velocity else None

    def interact(self, h: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor,
                 edge_attr: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Messages and their aggregates, without moving the points.

        Args:
            h: (N, hidden_dim) invariant node features.
            pos: (N, dim) coordinates.
            edge_index: (2, E) edges j -> i.
            edge_attr: (E, edge_dim) invariant edge attributes, or None when ``edge_dim == 0``.
        Returns:
            the updated features h' (N, hidden_dim) and the equivariant shift s (N, dim) (zero on
            nodes without incoming edges).
        """
        if (edge_attr is None) != (self.edge_dim == 0):
            raise ValueError(f"layer built for edge_dim={self.edge_dim} got edge_attr "
                             f"{None if edge_attr is None else tuple(edge_attr.shape)}")
        weight, width = self.edge_mlp.first_linear.weight, self.hidden_dim
        aggregated = self.propagate(edge_index, h_as_target=h @ weight[:, :width].T,
                                    h_as_source=h @ weight[:, width:2 * width].T, pos=pos,
                                    edge_attr=edge_attr, size=(h.shape[0], h.shape[0]))
        message_sum, shift = aggregated[:, :self.hidden_dim], aggregated[:, self.hidden_dim:]
        h_new = h + self.node_mlp(torch.cat([h, message_sum], dim=1))
        return h_new, shift

    def message(self, h_as_target_i: torch.Tensor, h_as_source_j: torch.Tensor, pos_i: torch.Tensor,
                pos_j: torch.Tensor, edge_attr: torch.Tensor | None) -> torch.Tensor:
        """Per edge: [m_ij (hidden_dim), clamp((x_i - x_j) phi_x(m_ij)) (dim)]."""
        diff = pos_i - pos_j
        invariants = (diff * diff).sum(dim=1, keepdim=True)
        if edge_attr is not None:
            invariants = torch.cat([invariants, edge_attr], dim=1)
        first = self.edge_mlp.first_linear
        pre = h_as_target_i + h_as_source_j + invariants @ first.weight[:, 2 * self.hidden_dim:].T + first.bias
        m = self.edge_act(self.edge_mlp.rest(pre))
        coordinate = diff * self.coord_mlp(m)
        if self.coord_clamp is not None:
            coordinate = coordinate.clamp(-self.coord_clamp, self.coord_clamp)
        return torch.cat([m, coordinate], dim=1)

    def aggregate(self, inputs: torch.Tensor, index: torch.Tensor, dim_size: int | None = None) -> torch.Tensor:
        """Sum the messages m_ij and average the coordinate terms over the incoming edges of i."""
        message_sum = scatter(inputs[:, :self.hidden_dim], index, 0, dim_size, reduce="sum")
        shift = scatter(inputs[:, self.hidden_dim:], index, 0, dim_size, reduce="mean")
        return torch.cat([message_sum, shift], dim=1)

    def forward(self, h: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor,
                edge_attr: torch.Tensor | None = None,
                vel: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One E_GCL update.

        Args:
            h, pos, edge_index, edge_attr: as in `interact`.
            vel: (N, dim) initial velocities v^init, required iff the layer has ``velocity=True``.
        Returns:
            h' (N, hidden_dim) and x' (N, dim).
        """
        if (vel is None) == self.velocity:
            raise ValueError("the velocity variant needs vel, the plain layer takes none"
                             f" (velocity={self.velocity}, vel given: {vel is not None})")
        h_new, shift = self.interact(h, pos, edge_index, edge_attr)
        if self.vel_mlp is not None:
            shift = shift + self.vel_mlp(h) * vel
        return h_new, pos + shift


class EGNN(nn.Module):
    """EGNN model: a linear embedding of invariant node features, then ``num_layers`` `EGNNLayer`.

    Reads from a `Data` (or `Batch`): ``x`` (N, node_dim) invariant node features, ``pos`` (N, dim),
    ``edge_index`` (2, E), ``edge_attr`` (E, edge_dim) invariant edge attributes when ``edge_dim > 0``,
    and ``vel`` (N, dim) when ``velocity=True`` (the N-body model EGNN-vel: each layer adds
    phi_v(h) vel to the coordinate update). Equivariant to rotations, reflections and translations of
    ``pos`` (and rotations/reflections of ``vel``) and to node permutations.

    Args:
        node_dim: input node features; edge_dim: edge attributes (0: none);
        hidden_dim: width of h and of the MLPs (64 in the paper); num_layers: E_GCL layers (4);
        velocity: use the velocity variant; coord_clamp, coord_bias: see `EGNNLayer` (the EGNN
        paper's N-body model has no bias there: ``coord_bias=False``).
    """

    def __init__(self, node_dim: int, edge_dim: int = 0, hidden_dim: int = 64, num_layers: int = 4,
                 *, velocity: bool = False, coord_clamp: float | None = COORD_CLAMP, coord_bias: bool = True):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.velocity, self.edge_dim = velocity, edge_dim
        self.embedding = nn.Linear(node_dim, hidden_dim)
        self.layers = nn.ModuleList(EGNNLayer(hidden_dim, edge_dim, velocity=velocity, coord_clamp=coord_clamp,
                                              coord_bias=coord_bias) for _ in range(num_layers))

    def run(self, data: Data) -> tuple[torch.Tensor, torch.Tensor]:
        """Final node features (N, hidden_dim) and coordinates (N, dim)."""
        h, pos = self.embedding(data.x), data.pos
        edge_attr = data.edge_attr if self.edge_dim else None
        vel = data.vel if self.velocity else None
        for layer in self.layers:
            h, pos = layer(h, pos, data.edge_index, edge_attr, vel)
        return h, pos

    def forward(self, data: Data) -> torch.Tensor:
        """Predicted coordinates (N, dim)."""
        return self.run(data)[1]
