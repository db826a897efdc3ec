import pytest
import torch
from tiny_problems import diffusion_graph, tiny_meshgraphnet
from torch_geometric.data import Batch, Data

from meshsim.nn import MPPDE
from meshsim.train import MeshGraphNetLoss, MPPDELoss, add_noise, bundle, masked_mse, pushforward, window_starts


def test_masked_mse():
    prediction, target = torch.tensor([[1.0], [2.0], [5.0]]), torch.zeros(3, 1)
    assert masked_mse(prediction, target).item() == pytest.approx(10.0)
    assert masked_mse(prediction, target, torch.tensor([True, True, False])).item() == pytest.approx(2.5)
    with pytest.raises(ValueError, match="selects no rows"):
        masked_mse(prediction, target, torch.zeros(3, dtype=torch.bool))


def test_noise_only_on_masked_rows_with_given_std():
    x = torch.zeros(20000, 2)
    mask = torch.arange(20000) % 2 == 0
    noisy = add_noise(x, 0.3, torch.Generator().manual_seed(0), mask)
    assert torch.equal(noisy[~mask], x[~mask])
    assert noisy[mask].std().item() == pytest.approx(0.3, rel=0.02)


def test_meshgraphnet_loss_target_accounts_for_noise():
    # with noise, the target change is y - noisy x: a model predicting that exactly has zero loss
    data = diffusion_graph(0)
    model = tiny_meshgraphnet().eval()
    generator_seed = 4
    noisy_x = add_noise(data.x, 0.1, torch.Generator().manual_seed(generator_seed), model.loss_mask(data))
    model.loss = lambda batch: masked_mse(batch.x, noisy_x)
    assert MeshGraphNetLoss(0.1)(model, data, torch.Generator().manual_seed(generator_seed)).item() == 0.0
    assert MeshGraphNetLoss(0.1)(model, data, torch.Generator().manual_seed(5)).item() > 0.0


def test_pushforward_gradient_reaches_only_the_last_step():
    weight = torch.tensor(0.9, requires_grad=True)

    def step(state, k):
        return weight * state + k

    state = pushforward(step, torch.tensor([1.0]), unroll=3)
    assert not state.requires_grad
    assert state.item() == pytest.approx(0.9 ** 3 + 0.9 * 0 + 0.9 * 0 + 0.9 * 1 + 2)
    (step(state, 3) ** 2).sum().backward()
    # d/dw (w s + 3)^2 with s constant: 2 (w s + 3) s; through all steps it would differ
    expected = 2 * (0.9 * state + 3) * state
    assert weight.grad.item() == pytest.approx(expected.item())


def test_windows():
    assert window_starts(20, 4, 0) == (4, 16)
    assert window_starts(20, 4, 2) == (4, 8)
    with pytest.raises(ValueError, match="too short"):
        window_starts(10, 4, 1)
    trajectory = torch.arange(30.0).reshape(3, 10)
    assert bundle(trajectory, 2, 3).tolist() == [[2, 3, 4], [12, 13, 14], [22, 23, 24]]
    assert bundle(trajectory, torch.tensor([0, 5, 7]), 3).tolist() == [[0, 1, 2], [15, 16, 17], [27, 28, 29]]


def test_mppde_loss_with_pushforward_reaches_every_parameter():
    n, steps = 8, 30
    target = torch.arange(n).repeat_interleave(2)
    edge_index = torch.stack([(target + torch.tensor([-1, 1]).repeat(n)) % n, target])
    u = torch.sin(torch.linspace(0, 6, n)[:, None] + 0.1 * torch.arange(steps)[None])
    graphs = [Data(u=u * (1 + g), pos=torch.arange(n, dtype=torch.float32)[:, None], params=torch.ones(1, 1),
                   edge_index=edge_index) for g in range(2)]
    torch.manual_seed(0)
    model = MPPDE(time_window=3, num_params=1, dt=0.1, hidden_dim=16, num_layers=1)
    loss = MPPDELoss(max_unroll=2)(model, Batch.from_data_list(graphs), torch.Generator().manual_seed(0))
    loss.backward()
    assert loss.item() > 0 and all(p.grad is not None for p in model.parameters())
