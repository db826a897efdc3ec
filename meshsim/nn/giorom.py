"""`GIOROM`: reduced-order neural operator for Lagrangian dynamics on sparse graphs (Viswanath et al.)."""
from __future__ import annotations

import torch
from torch import nn

from .dense_decoder import DenseDecoder
from .graph_net_block import GraphNetBlock
from .mlp import MLP
from .neural_operator import FNO2d, GridToPoints, PointsToGrid, grid_pairs
from .particle_features import ParticleFeatures, ParticleStatistics
from .sorted_edges import TargetSortedEdges


class GIOROM(nn.Module):
    r"""Time stepper of GIOROM on a sparse subset of the particles.

    interaction layers (`GraphNetBlock` s) on the sparse radius graph -> graph neural operator to a
    latent ``grid_size`` x ``grid_size`` grid over the domain (`PointsToGrid`) -> Fourier neural
    operator on the grid (`FNO2d`) -> graph neural operator back to the particles (`GridToPoints`),
    merged with the particle latents -> interaction layers -> normalised acceleration, integrated as
    in `GNS` (`ParticleFeatures`: same inputs, normalisation and semi-implicit Euler). The dense
    particles are evaluated from the sparse ones by `DenseDecoder` (``self.decoder``), trained
    separately on the true sparse-to-dense displacements.

    Args:
        statistics: training-data statistics, bounds and (sparse) connectivity radius.
        history, num_particle_types, type_embedding_dim, noise_std: as `GNS`.
        latent_dim: width of particle latents.
        num_steps: interaction layers before and after the neural operator (each).
        num_hidden_layers: hidden layers of the MLPs.
        grid_size: latent grid nodes per side; grid_width: its channels.
        fno_modes, fno_layers: Fourier modes per axis and Fourier layers.
        gno_radius: particle-grid coupling radius (default 1.5 grid spacings).
        decoder_hidden: width of the dense decoder's kernel.

    Shapes: ``forward(positions (N, history + 1, 2), particle_type (N,), edge_index (2, E),
    batch (N,) or None)`` -> normalised acceleration (N, 2); particles of different ``batch``
    values (graphs of a batch) get separate latent grids.
    """

    def __init__(self, statistics: ParticleStatistics, history: int = 5, num_particle_types: int = 9,
                 type_embedding_dim: int = 16, latent_dim: int = 128, num_steps: int = 2, num_hidden_layers: int = 2,
                 grid_size: int = 32, grid_width: int = 32, fno_modes: int = 12, fno_layers: int = 4,
                 gno_radius: float | None = None, decoder_hidden: int = 64, noise_std: float = 0.0):
        super().__init__()
        self.features = ParticleFeatures(statistics, history, num_particle_types, type_embedding_dim, noise_std)
        if self.features.dim != 2:
            raise ValueError(f"GIOROM's latent grid is 2D; the data is {self.features.dim}D")
        bounds = self.features.bounds
        self.grid_size = grid_size
        spacing = float(((bounds[:, 1] - bounds[:, 0]) / (grid_size - 1)).max())
        self.gno_radius = 1.5 * spacing if gno_radius is None else float(gno_radius)
        width = latent_dim
        self.node_encoder = MLP(self.features.node_dim, width, width, num_hidden_layers)
        self.edge_encoder = MLP(self.features.edge_dim, width, width, num_hidden_layers)
        self.blocks_in = nn.ModuleList(GraphNetBlock(width, width, num_hidden_layers) for _ in range(num_steps))
        self.to_grid = PointsToGrid(width, grid_width)
        self.fno = FNO2d(grid_width, grid_width, grid_width, fno_modes, fno_layers)
        self.from_grid = GridToPoints(grid_width, width)
        self.merge = MLP(2 * width, width, width, num_hidden_layers)
        self.blocks_out = nn.ModuleList(GraphNetBlock(width, width, num_hidden_layers) for _ in range(num_steps))
        self.node_decoder = MLP(width, self.features.dim, width, num_hidden_layers, layer_norm=False)
        self.decoder = DenseDecoder(self.features.dim, decoder_hidden)

    def operator(self, h: torch.Tensor, points: torch.Tensor, batch: torch.Tensor | None) -> torch.Tensor:
        """Particle latents (N, L) -> grid -> FNO -> particle latents (N, L)."""
        size = self.grid_size
        bounds = self.features.bounds
        point, node, relative = grid_pairs(points, size, bounds[:, 0], bounds[:, 1], self.gno_radius)
        graphs = 1 if batch is None else int(batch.max()) + 1
        if batch is not None:
            node = node + batch.index_select(0, point) * size * size
        pairs = (point, node, relative)
        grid = self.to_grid(h, pairs, graphs * size * size)  # (B G^2, C)
        grid = grid.reshape(graphs, size, size, -1).permute(0, 3, 1, 2)
        grid = self.fno(grid).permute(0, 2, 3, 1).reshape(graphs * size * size, -1)
        return self.from_grid(grid, pairs, len(points))

    def forward(self, positions: torch.Tensor, particle_type: torch.Tensor, edge_index: torch.Tensor,
                batch: torch.Tensor | None = None) -> torch.Tensor:
        edges = TargetSortedEdges.from_edge_index(edge_index, positions.shape[0])
        h = self.node_encoder(self.features.node_features(positions, particle_type))
        e = self.edge_encoder(self.features.edge_features(positions, edge_index))
        for block in self.blocks_in:
            h, e = block(h, e, edges)
        h = h + self.merge(torch.cat([h, self.operator(h, positions[:, -1], batch)], -1))
        for block in self.blocks_out:
            h, e = block(h, e, edges)
        return self.node_decoder(h)

    def next_position(self, positions: torch.Tensor, particle_type: torch.Tensor, edge_index: torch.Tensor,
                      batch: torch.Tensor | None = None) -> torch.Tensor:
        """Sparse positions one frame later (N, 2)."""
        return self.features.next_position(positions, self(positions, particle_type, edge_index, batch))
