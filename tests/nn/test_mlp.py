import pytest
import torch
from torch import nn

from meshsim.nn import MLP, inplace_relu


def test_layer_count_and_widths():
    mlp = MLP(5, 3, hidden_dim=7, num_hidden_layers=2)
    assert [(lin.in_features, lin.out_features) for lin in mlp.linears] == [(5, 7), (7, 7), (7, 3)]
    assert MLP(5, 3, num_hidden_layers=0).linears[0].in_features == 5
    assert len(MLP(5, 3, num_hidden_layers=0).linears) == 1


def test_layer_norm_output_is_standardised():
    torch.manual_seed(0)
    y = MLP(4, 16, hidden_dim=8)(torch.randn(10, 4))
    assert torch.allclose(y.mean(-1), torch.zeros(10), atol=1e-5)
    assert torch.allclose(y.var(-1, unbiased=False), torch.ones(10), atol=1e-3)
    assert MLP(4, 16, layer_norm=False).norm is None


def test_forward_equals_explicit_composition():
    torch.manual_seed(0)
    mlp = MLP(4, 2, hidden_dim=8, num_hidden_layers=1, activation=nn.Tanh, layer_norm=False)
    x = torch.randn(6, 4)
    a, b = mlp.linears
    expected = torch.tanh(x @ a.weight.T + a.bias) @ b.weight.T + b.bias
    assert torch.allclose(mlp(x), expected, atol=1e-6)
    assert torch.equal(mlp.rest(mlp.first_linear(x)), mlp(x))


def test_inplace_relu_matches_relu_with_gradients():
    torch.manual_seed(0)
    plain = MLP(4, 3, hidden_dim=8)
    inplace = MLP(4, 3, hidden_dim=8, activation=inplace_relu)
    inplace.load_state_dict(plain.state_dict())
    x = torch.randn(5, 4, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    plain(x).pow(2).sum().backward()
    inplace(x2).pow(2).sum().backward()
    assert torch.allclose(x.grad, x2.grad)
    for p, q in zip(plain.parameters(), inplace.parameters()):
        assert torch.allclose(p.grad, q.grad)


def test_negative_hidden_layers_rejected():
    with pytest.raises(ValueError, match="num_hidden_layers"):
        MLP(2, 2, num_hidden_layers=-1)
