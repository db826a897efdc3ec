import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.utils import grid, remove_self_loops, sort_edge_index

from meshsim.nn import MeshGraphNet

WALL = 1


def diffusion_sample(seed, side=5):
    """A field u on a grid graph and its next state after one explicit diffusion step.

    Boundary nodes (type WALL) keep their value.
    """
    edge_index, pos = grid(side, side)
    edge_index = sort_edge_index(remove_self_loops(edge_index)[0], sort_by_row=False)
    on_boundary = (pos == 0).any(-1) | (pos == side - 1).any(-1)
    node_type = on_boundary.long() * WALL
    u = torch.randn(side * side, 1, generator=torch.Generator().manual_seed(seed))
    neighbour_mean = torch.zeros_like(u).index_add_(0, edge_index[1], u[edge_index[0]])
    neighbour_mean /= torch.bincount(edge_index[1]).unsqueeze(-1)
    y = torch.where(on_boundary.unsqueeze(-1), u, u + 0.5 * (neighbour_mean - u))
    return Data(x=u, y=y, pos=pos, edge_index=edge_index, node_type=node_type)


def tiny_model(**kwargs):
    torch.manual_seed(0)
    return MeshGraphNet(field_dim=1, num_node_types=2, prescribed_node_types=(WALL,), latent_dim=16,
                        num_steps=2, **kwargs)


def test_features():
    data = diffusion_sample(0, side=3)
    model = tiny_model()
    nodes = model.node_features(data)
    assert nodes.shape == (9, 3)
    assert torch.equal(nodes[:, 1:].argmax(-1), data.node_type)
    edges = model.edge_features(data)
    src, dst = data.edge_index
    assert torch.allclose(edges[:, :2], data.pos[src] - data.pos[dst])
    assert torch.allclose(edges[:, 2], (data.pos[src] - data.pos[dst]).norm(dim=-1))


def test_loss_mask_excludes_prescribed_nodes():
    data = diffusion_sample(0)
    model = tiny_model()
    mask = model.loss_mask(data)
    assert mask.sum() == 9 and torch.equal(mask, data.node_type == 0)
    # a target changed only on prescribed nodes does not change the loss
    model.eval()
    altered = data.clone()
    altered.y = torch.where(mask.unsqueeze(-1), data.y, data.y + 100.0)
    assert torch.equal(model.loss(altered), model.loss(data))


def test_predict_keeps_prescribed_nodes_and_integrates_change():
    data = diffusion_sample(1)
    model = tiny_model().eval()
    prediction = model.predict(data)
    wall = data.node_type == WALL
    assert torch.equal(prediction[wall], data.x[wall])
    change = model.output_normalizer.inverse(model(data))
    assert torch.allclose(prediction[~wall], data.x[~wall] + change[~wall])
    stepped = model.advance(data)
    assert torch.equal(stepped.x, prediction) and stepped.edge_index is data.edge_index


def test_extra_outputs_predicted_directly():
    data = diffusion_sample(0)
    data.y = torch.cat([data.y, 2.0 * data.x], -1)
    model = tiny_model(extra_output_dim=1)
    target = model.target(data)
    assert target.shape == (25, 2)
    model.eval()
    assert torch.allclose(model.output_normalizer.inverse(target)[:, 1:], 2.0 * data.x, atol=1e-5)
    assert model.advance(data).extra.shape == (25, 1)


def test_bad_inputs_named():
    data = diffusion_sample(0)
    model = tiny_model()
    bad = data.clone()
    bad.node_type = bad.node_type.clone()
    bad.node_type[3] = 7
    with pytest.raises(ValueError, match="node_type of node 3 is 7"):
        model(bad)
    with pytest.raises(ValueError, match=r"data.x must have shape \(N, 1\)"):
        model(Data(x=torch.ones(25, 2), pos=data.pos, node_type=data.node_type, edge_index=data.edge_index))


def test_tiny_model_overfits_four_samples():
    batch = Batch.from_data_list([diffusion_sample(seed) for seed in range(4)])
    model = tiny_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        optimizer.zero_grad()
        loss = model.loss(batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 100
    model.eval()
    error = (model.predict(batch) - batch.y).abs().max()
    assert error < 0.1 * (batch.y - batch.x).abs().max()
