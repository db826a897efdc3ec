"""`MLP`: the multilayer perceptron every encoder, processor and decoder is made of."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def inplace_relu() -> nn.Module:
    """ReLU that overwrites its input: saves one activation-sized tensor per layer.

    Safe inside `MLP` whenever the tensor given to `MLP.rest` is not needed by anyone else: the
    other activations follow linear layers, whose backward does not use their output.
    """
    return nn.ReLU(inplace=True)


class MLP(nn.Module):
    r"""Linear layers with an activation between them and an optional LayerNorm on the output.

    .. math::
        \mathrm{MLP}(x) = \mathrm{LN}(W_{H} \sigma(\dots \sigma(W_1 \sigma(W_0 x + b_0) + b_1) \dots) + b_{H})

    with ``num_hidden_layers`` hidden layers of width ``hidden_dim`` (so ``num_hidden_layers + 1``
    linear layers). MeshGraphNets uses two hidden layers of 128, ReLU and LayerNorm on every MLP
    but the decoder.

    Args:
        in_dim: input features.
        out_dim: output features.
        hidden_dim: width of the hidden layers.
        num_hidden_layers: number of hidden layers (>= 0; 0 gives one linear layer).
        activation: factory of the activation module (``nn.ReLU``, ``nn.SiLU``, ...).
        layer_norm: apply LayerNorm (with affine parameters) to the output.

    Shapes: ``(..., in_dim) -> (..., out_dim)``.

    `first_linear` and `rest` split the forward pass after the first linear layer so that a
    message-passing block can compute that layer's product by parts (the concat trick).
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int = 128, num_hidden_layers: int = 2,
                 activation: Callable[[], nn.Module] = nn.ReLU, layer_norm: bool = True):
        super().__init__()
        if num_hidden_layers < 0:
            raise ValueError(f"num_hidden_layers must be >= 0, got {num_hidden_layers}")
        widths = [in_dim] + [hidden_dim] * num_hidden_layers + [out_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.activation = activation()
        self.norm = nn.LayerNorm(out_dim) if layer_norm else None

    @property
    def first_linear(self) -> nn.Linear:
        """The first linear layer, ``in_dim -> hidden_dim`` (or ``out_dim`` without hidden layers)."""
        return self.linears[0]

    def rest(self, pre_activation: torch.Tensor) -> torch.Tensor:
        """Everything after the first linear layer, applied to its output ``(..., width)``."""
        x = pre_activation
        for linear in self.linears[1:]:
            x = linear(self.activation(x))
        return self.norm(x) if self.norm is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rest(self.first_linear(x))
