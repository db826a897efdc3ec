"""Tests for meshsim.nn.equivariant_mesh: rotating a mesh and its loads rotates the predicted field."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch

from meshsim.graph import NUM_NODE_TYPES, from_mesh
from meshsim.mesh import Mesh
from meshsim.nn import EquivariantMeshModel, assert_equivariant


def plate(n=5, seed=0):
    """An elasticity-style graph: a unit square of 2 (n-1)^2 triangles clamped on the left, random
    loads on the nodes; x is the one-hot node type (invariant)."""
    xs = np.linspace(0.0, 1.0, n)
    points = np.stack(np.meshgrid(xs, xs, indexing="xy"), axis=-1).reshape(-1, 2)
    corner = (np.arange(n - 1)[None, :] + n * np.arange(n - 1)[:, None]).ravel()
    cells = np.concatenate([np.stack([corner, corner + 1, corner + n + 1], 1),
                            np.stack([corner, corner + n + 1, corner + n], 1)])
    left = np.stack([n * np.arange(n - 1), n * np.arange(1, n)], 1)
    data = from_mesh(Mesh(points, cells, boundary={"left": left}), dtype=torch.float64)
    data.x = F.one_hot(data.node_type, NUM_NODE_TYPES).to(torch.float64)
    data.load = torch.randn(len(points), 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return data


def test_rotating_the_mesh_and_loads_rotates_the_displacement():
    torch.manual_seed(0)
    model = EquivariantMeshModel(NUM_NODE_TYPES, vector_keys=("load",), hidden_dim=16, num_layers=3).double().eval()
    errors = assert_equivariant(model, plate(), "E(n)", output="vector", vectors=("load",))
    assert max(errors.values()) < 1e-9
    # the loads matter: with them left unrotated the prediction is no longer equivariant
    with pytest.raises(AssertionError, match="rotation"):
        assert_equivariant(model, plate(), "E(n)", output="vector", vectors=())


def test_without_vector_inputs_the_model_is_still_equivariant_in_3d():
    torch.manual_seed(1)
    data = plate()
    data.pos = torch.cat([data.pos, torch.randn(len(data.pos), 1, dtype=torch.float64)], dim=1)
    model = EquivariantMeshModel(NUM_NODE_TYPES, hidden_dim=16, num_layers=2).double().eval()
    assert max(assert_equivariant(model, data, output="vector").values()) < 1e-9


def test_output_is_a_displacement_per_node_and_loads_start_with_a_small_effect():
    torch.manual_seed(2)
    model = EquivariantMeshModel(NUM_NODE_TYPES, vector_keys=("load",), hidden_dim=16, num_layers=2).double()
    data = plate()
    out = model(data)
    assert out.shape == data.pos.shape
    unloaded = data.clone()
    unloaded.load = torch.zeros_like(data.load)
    difference = (model(unloaded) - out).abs().max().item()
    assert 0 < difference < 1e-2


def test_a_batch_of_meshes_gives_the_same_result_as_each_mesh():
    torch.manual_seed(3)
    model = EquivariantMeshModel(NUM_NODE_TYPES, vector_keys=("load",), hidden_dim=16, num_layers=2).double().eval()
    meshes = [plate(4, seed=1), plate(5, seed=2)]
    with torch.no_grad():
        batched = model(Batch.from_data_list(meshes))
        separate = torch.cat([model(mesh) for mesh in meshes])
    torch.testing.assert_close(batched, separate, rtol=0, atol=1e-13)
