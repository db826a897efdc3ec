"""Tests for meshsim.nn.testing.assert_equivariant: it passes equivariant models and names what breaks."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from meshsim.nn import EGNN, MeshGraphNet, assert_equivariant
from meshsim.nn.testing import _node_permutation, random_orthogonal


def graph(n=6, dim=3, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    edge_index = torch.tensor([(j, i) for i in range(n) for j in range(n) if i != j]).T  # sorted by target
    return Data(x=torch.randn(n, 2, generator=generator, dtype=dtype),
                pos=torch.randn(n, dim, generator=generator, dtype=dtype),
                vel=torch.randn(n, dim, generator=generator, dtype=dtype), edge_index=edge_index,
                edge_attr=torch.randn(edge_index.shape[1], 1, generator=generator, dtype=dtype))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("reflection", [False, True])
def test_random_orthogonal_has_the_requested_determinant(dim, reflection):
    q = random_orthogonal(dim, reflection=reflection, generator=torch.Generator().manual_seed(dim))
    torch.testing.assert_close(q @ q.T, torch.eye(dim, dtype=torch.float64), rtol=0, atol=1e-14)
    assert torch.linalg.det(q).item() == pytest.approx(-1.0 if reflection else 1.0, abs=1e-14)


def test_egnn_passes_and_the_cases_follow_the_group():
    torch.manual_seed(0)
    model = EGNN(2, 1, hidden_dim=8, num_layers=2, velocity=True).double().eval()
    data = graph()
    assert set(assert_equivariant(model, data, "E(n)")) == {"rotation", "reflection", "translation",
                                                            "permutation", "combined"}
    assert set(assert_equivariant(model, data, "SE(n)")) == {"rotation", "translation", "permutation", "combined"}
    assert set(assert_equivariant(model, data, "O(n)")) == {"rotation", "reflection", "permutation", "combined"}
    assert set(assert_equivariant(model, data, "SO(n)")) == {"rotation", "permutation", "combined"}


def test_float32_uses_the_looser_default_tolerance():
    torch.manual_seed(1)
    model = EGNN(2, 1, hidden_dim=8, num_layers=2, velocity=True).eval()
    errors = assert_equivariant(model, graph(dtype=torch.float32))
    assert 0 < max(errors.values()) < 1e-4
    with pytest.raises(AssertionError, match="atol 1e-12"):
        assert_equivariant(model, graph(dtype=torch.float32), atol=1e-12)


def test_a_meshgraphnet_is_not_rotation_equivariant():
    torch.manual_seed(2)
    data = graph()
    data.x, data.node_type = data.vel, torch.zeros(6, dtype=torch.long)
    model = MeshGraphNet(field_dim=3, num_node_types=1, pos_dim=3, latent_dim=16, num_steps=2).double().eval()
    with pytest.raises(AssertionError, match="rotation") as failure:
        assert_equivariant(model, data, output="vector", vectors=("x",))
    message = str(failure.value)
    assert "reflection" in message and "translation" not in message and "permutation" not in message


def test_a_model_of_absolute_positions_fails_only_translation():
    def doubled(data):
        return 2.0 * data.pos
    with pytest.raises(AssertionError, match="translation") as failure:
        assert_equivariant(doubled, graph())
    assert "rotation" not in str(failure.value)
    assert assert_equivariant(doubled, graph(), "O(n)")["combined"] < 1e-15


def test_a_chiral_model_fails_only_reflection():
    def cross(data):  # a pseudovector: flips sign under reflections
        return torch.linalg.cross(data.pos - data.pos.mean(0), data.vel)
    assert assert_equivariant(cross, graph(), "SE(n)", output="vector")["rotation"] < 1e-14
    with pytest.raises(AssertionError, match="reflection") as failure:
        assert_equivariant(cross, graph(), "E(n)", output="vector")
    assert "rotation" not in str(failure.value)


def test_a_model_that_depends_on_node_order_fails_permutation():
    def to_previous(data):
        return data.pos - data.pos.roll(1, dims=0)
    with pytest.raises(AssertionError, match="permutation"):
        assert_equivariant(to_previous, graph(), output="vector")


def test_invariant_outputs_and_nan_are_checked():
    def pair_distances(data):
        source, target = data.edge_index
        return torch.zeros(data.num_nodes, dtype=data.pos.dtype).index_add(
            0, target, (data.pos[source] - data.pos[target]).norm(dim=1))
    assert max(assert_equivariant(pair_distances, graph(), output="invariant").values()) < 1e-12
    with pytest.raises(AssertionError, match="nan"):
        assert_equivariant(lambda data: data.pos * float("nan"), graph())


def test_permutation_stays_within_the_graphs_of_a_batch():
    batch = Batch.from_data_list([graph(n, seed=n) for n in (3, 4, 5)])
    perm = _node_permutation(batch, torch.Generator().manual_seed(0))
    assert torch.equal(batch.batch[perm], batch.batch)
    assert sorted(perm.tolist()) == list(range(12)) and not torch.equal(perm, torch.arange(12))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown group"):
        assert_equivariant(lambda d: d.pos, graph(), "SE(2)")
    with pytest.raises(ValueError, match="no point field"):
        assert_equivariant(lambda d: d.pos, graph(), points=("coords",))
    with pytest.raises(ValueError, match="output"):
        assert_equivariant(lambda d: d.pos, graph(), output="scalar")
