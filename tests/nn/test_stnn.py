"""STNN and its factorised layers: each layer equals its dense reconstruction, parameter counts follow
the factorisation, a tiny STNN overfits a few parameter triples, the baselines are what they say."""
import math

import pytest
import torch

from meshsim.nn import (PODMLP, STNN, ParametricMLP, TTLinear, TuckerLinear, count_parameters, mlp_width_for,
                        pod_basis)


@pytest.mark.parametrize("layer", [
    TTLinear((2, 3, 4), (5, 3, 2), ranks=(3, 4)),
    TTLinear((6,), (7,), ranks=()),
    TuckerLinear((2, 3, 4), (5, 3, 2), ranks=(2, 3, 2, 4, 2, 2)),
    TuckerLinear((12,), (4, 3, 5), ranks=(5, 2, 3, 4)),
])
def test_factorised_layer_equals_its_dense_reconstruction(layer):
    torch.manual_seed(0)
    layer = layer.double()
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(7, 2, layer.in_features, dtype=torch.float64)
    weight = layer.dense_weight()
    assert weight.shape == (layer.in_features, layer.out_features)
    torch.testing.assert_close(layer(x), x @ weight + layer.bias, rtol=1e-12, atol=1e-12)


def test_parameter_counts_follow_the_factorisation():
    tt = TTLinear((4, 4, 4), (10, 16, 40), ranks=16)
    assert count_parameters(tt) == 1 * 4 * 10 * 16 + 16 * 4 * 16 * 16 + 16 * 4 * 40 * 1 + 6400
    tucker = TuckerLinear((64,), (10, 16, 40), ranks=(16, 8, 8, 8))
    assert count_parameters(tucker) == 16 * 8 * 8 * 8 + 64 * 16 + 10 * 8 + 16 * 8 + 40 * 8 + 6400
    with pytest.raises(ValueError, match="same length"):
        TTLinear((4, 4), (2, 2, 2))
    with pytest.raises(ValueError, match="ranks"):
        TTLinear((4, 4), (2, 2), ranks=(2, 2))


@pytest.mark.parametrize("factorization,ranks,in_modes", [("tt", 4, (2, 2, 2)), ("tucker", (8, 3, 3, 4), (8,))])
def test_tiny_stnn_overfits_a_few_parameter_triples(factorization, ranks, in_modes):
    torch.manual_seed(0)
    params = torch.rand(4, 3) * 2 - 1
    grid = torch.linspace(0, 1, 5)
    # smooth targets (T=3, ny=4, nx=5) that depend on the parameters nonlinearly
    t, y, x = torch.meshgrid(torch.arange(1, 4.0), torch.linspace(0, 1, 4), grid, indexing="ij")
    targets = torch.stack([torch.exp(-t * (1.5 + p[2])) * torch.sin(math.pi * (y + p[0] * x)) + p[1] * x
                           for p in params])
    model = STNN(3, (3, 4, 5), in_modes=in_modes, ranks=ranks, num_experts=2, factorization=factorization,
                 hidden_dim=32, gate_dim=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(600):
        loss = ((model(params) - targets) ** 2).mean()
        first = float(loss.detach()) if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    relative = torch.linalg.vector_norm(model(params) - targets) / torch.linalg.vector_norm(targets)
    assert relative < 0.02 < first


def test_stnn_mixes_its_experts_with_softmax_weights():
    torch.manual_seed(0)
    model = STNN(3, (2, 3, 4), in_modes=(2, 2, 2), ranks=2, num_experts=3).double()
    params = torch.randn(5, 3, dtype=torch.float64)
    weights = torch.softmax(model.gate(params), dim=-1)
    features = model.lift(params)
    expected = sum(weights[:, k, None] * (features @ e.dense_weight() + e.bias) for k, e in enumerate(model.experts))
    torch.testing.assert_close(model(params), expected.reshape(5, 2, 3, 4))
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(5, dtype=torch.float64))


def test_mlp_width_matches_a_parameter_budget():
    budget = count_parameters(STNN(3, (10, 16, 40)))
    width = mlp_width_for(budget, 3, 6400, 2)
    assert count_parameters(ParametricMLP(3, (10, 16, 40), width)) <= budget
    assert count_parameters(ParametricMLP(3, (10, 16, 40), width + 1)) > budget


def test_pod_basis_is_orthonormal_and_pod_mlp_adds_the_mean():
    torch.manual_seed(0)
    snapshots = torch.randn(6, 2, 5, dtype=torch.float64)
    mean, basis, singular = pod_basis(snapshots, 5)
    torch.testing.assert_close(basis.T @ basis, torch.eye(5, dtype=torch.float64))
    centred = snapshots.reshape(6, -1) - mean
    torch.testing.assert_close((centred @ basis) @ basis.T, centred)  # 6 centred snapshots span <= 5 dims
    assert singular[0] >= singular[-1] and len(singular) == 6
    model = PODMLP(3, mean, basis, (2, 5)).double()
    with torch.no_grad():
        model.mlp.linears[-1].weight.zero_()
        model.mlp.linears[-1].bias.zero_()
    torch.testing.assert_close(model(torch.randn(4, 3, dtype=torch.float64)), mean.reshape(1, 2, 5).expand(4, 2, 5))


def test_tt_layer_matches_tensorly_torch_on_the_same_cores():
    tltorch = pytest.importorskip("tltorch")
    torch.manual_seed(0)
    reference = tltorch.FactorizedLinear((2, 3, 4), (5, 3, 2), factorization="blocktt", rank=3)
    ours = TTLinear((2, 3, 4), (5, 3, 2), ranks=3)
    with torch.no_grad():
        for core, factor in zip(ours.cores, reference.weight.factors):  # tltorch stores (r, out, in, r)
            core.copy_(factor.transpose(1, 2))
        ours.bias.copy_(reference.bias)
    x = torch.randn(6, 24)
    torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-6)
