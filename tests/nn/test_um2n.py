"""UM2N: boundary projection, permutation equivariance, batching, bounded attention keys."""
import numpy as np
import torch
from torch_geometric.data import Batch, Data

from meshsim.graph import mesh_edge_index
from meshsim.movement import SlidingBoundary, unit_square_grid
from meshsim.nn.graph_transformer import key_indices, morton_order
from meshsim.nn.um2n import UM2N, project_to_boundary

SMALL = dict(embed_dim=16, heads=2, global_dim=8, local_dim=8, deformer_hidden=16, deformer_dims=(12, 8),
             deformer_heads=3)


def _graph(n=6, seed=0, dtype=torch.float64):
    mesh = unit_square_grid(n)
    rng = np.random.default_rng(seed)
    monitor = rng.uniform(1.0, 6.0, (mesh.num_points, 1))
    return Data(pos=torch.tensor(mesh.points, dtype=dtype), monitor=torch.tensor(monitor / monitor.max(), dtype=dtype),
                boundary=torch.tensor(SlidingBoundary.of(mesh).as_array(), dtype=dtype),
                edge_index=torch.as_tensor(mesh_edge_index(mesh.cells, mesh.num_points)))


def _model(seed=0, **kwargs):
    torch.manual_seed(seed)
    return UM2N(**{**SMALL, **kwargs}).double().eval()


def _run(model, data):
    return model(data.pos, data.monitor, data.boundary, data.edge_index,
                 getattr(data, "batch", None), getattr(data, "ptr", None))


def test_boundary_nodes_stay_on_their_lines_and_corners_stay_put():
    data = _graph()
    x = _run(_model(), data)
    normal, offset, fixed = data.boundary[:, :2], data.boundary[:, 2], data.boundary[:, 3] > 0.5
    sliding = (normal != 0).any(dim=1)
    assert torch.abs((x[sliding] * normal[sliding]).sum(dim=1) - offset[sliding]).max() < 1e-15
    assert torch.equal(x[fixed], data.pos[fixed])
    assert (x - data.pos).abs().max() > 1e-3  # interior nodes did move
    # neighbour averages stay inside the convex domain
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_projection_formula():
    boundary = torch.tensor([[0.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    x = torch.tensor([[0.3, 1.7], [5.0, 5.0], [0.4, 0.6]])
    start = torch.tensor([[0.0, 2.0], [1.0, 1.0], [0.0, 0.0]])
    out = project_to_boundary(x, start, boundary)
    assert torch.equal(out, torch.tensor([[0.3, 2.0], [1.0, 1.0], [0.4, 0.6]]))


def test_permutation_equivariance_with_dense_attention():
    data = _graph(seed=1)
    model = _model(max_keys=None)
    perm = torch.randperm(len(data.pos), generator=torch.Generator().manual_seed(3))
    inverse = torch.argsort(perm)
    permuted = Data(pos=data.pos[perm], monitor=data.monitor[perm], boundary=data.boundary[perm],
                    edge_index=inverse[data.edge_index])
    assert torch.allclose(_run(model, permuted), _run(model, data)[perm], atol=1e-12)


def test_a_batch_moves_each_graph_as_alone():
    first, second = _graph(5, seed=1), _graph(7, seed=2)
    model = _model(max_keys=40)  # the 7 x 7 grid (64 nodes) attends to 40 keys, the other to all 36
    batch = Batch.from_data_list([first, second])
    together = _run(model, batch)
    assert torch.allclose(together[:36], _run(model, first), atol=1e-12)
    assert torch.allclose(together[36:], _run(model, second), atol=1e-12)


def test_attention_keys_are_bounded_and_spread():
    mesh = unit_square_grid(40)
    pos = torch.tensor(mesh.points)
    ptr = torch.tensor([0, 30, len(pos)])
    keys, valid = key_indices(pos, ptr, 64)
    assert keys.shape == (2, 64) and valid[0].sum() == 30 and valid[1].all()
    assert torch.equal(keys[0, :30], torch.arange(30))  # a small graph attends to every node
    chosen = pos[30:][keys[1]]
    quadrants = torch.unique((chosen > 0.5).long() @ torch.tensor([1, 2]))
    assert len(quadrants) == 4  # Morton-even keys cover the whole domain
    random_keys, _ = key_indices(pos, ptr, 64, torch.Generator().manual_seed(0))
    assert len(torch.unique(random_keys[1])) == 64 and not torch.equal(random_keys[1], keys[1])
    order = morton_order(torch.tensor([[0.9, 0.9], [0.1, 0.1], [0.9, 0.1], [0.1, 0.9]]))
    assert order.tolist() == [1, 2, 3, 0]


def test_subsampled_keys_equal_dense_attention_on_small_graphs():
    data = _graph(5)
    assert torch.allclose(_run(_model(max_keys=500), data), _run(_model(max_keys=None), data), atol=1e-14)

    def encoded(max_keys):
        encoder = _model(max_keys=max_keys).encoder
        batch, ptr = torch.zeros(36, dtype=torch.long), torch.tensor([0, 36])
        return encoder(torch.cat([data.pos, data.monitor], 1), data.pos, batch, ptr)
    assert torch.equal(encoded(36), encoded(None))
    assert (encoded(8) - encoded(None)).abs().max() > 1e-4  # 8 of 36 keys: a different attention


def test_paper_widths_build():
    model = UM2N()
    widths = [layer.out_dim for layer in model.deformer]
    assert widths == [508, 250, 120, 20] and model.deformer[0].heads == 6
    assert model.deformer[1].linear.in_features == 512 and model.deformer[3].linear.in_features == 128
