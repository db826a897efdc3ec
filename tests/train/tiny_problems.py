"""Small problems for the training tests (importable by spawned DDP workers, unlike fixtures)."""
import torch
from torch_geometric.data import Data
from torch_geometric.utils import grid, remove_self_loops, sort_edge_index

from meshsim.nn import MeshGraphNet

WALL = 1


def diffusion_graph(seed: int, side: int = 4) -> Data:
    """u on a side x side grid graph; y = u after one explicit diffusion step (walls fixed)."""
    edge_index, pos = grid(side, side)
    edge_index = sort_edge_index(remove_self_loops(edge_index)[0], sort_by_row=False)
    wall = (pos == 0).any(-1) | (pos == side - 1).any(-1)
    u = torch.randn(side * side, 1, generator=torch.Generator().manual_seed(seed))
    neighbour_mean = torch.zeros_like(u).index_add_(0, edge_index[1], u[edge_index[0]])
    neighbour_mean /= torch.bincount(edge_index[1]).unsqueeze(-1)
    y = torch.where(wall.unsqueeze(-1), u, u + 0.5 * (neighbour_mean - u))
    return Data(x=u, y=y, pos=pos, edge_index=edge_index, node_type=wall.long() * WALL)


def diffusion_dataset(size: int = 8) -> list[Data]:
    return [diffusion_graph(seed) for seed in range(size)]


def tiny_meshgraphnet(seed: int = 0) -> MeshGraphNet:
    torch.manual_seed(seed)
    return MeshGraphNet(field_dim=1, num_node_types=2, prescribed_node_types=(WALL,), latent_dim=8,
                        num_steps=2, num_hidden_layers=1)
