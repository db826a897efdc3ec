import copy

import pytest
import torch
from tiny_problems import diffusion_graph, tiny_meshgraphnet
from torch import nn
from torch_geometric.data import Data

from meshsim.train import rollout, windows_to_frames


class Doubler(nn.Module):
    """x -> 2x per step; records the mode it was called in."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def advance(self, data):
        self.modes.append((self.training, torch.is_grad_enabled()))
        stepped = copy.copy(data)
        stepped.x = 2 * data.x
        return stepped


def test_rollout_stacks_states_in_eval_mode():
    model = Doubler()
    states = rollout(model, Data(x=torch.ones(3, 2)), steps=4)
    assert states.shape == (4, 3, 2)
    assert states[:, 0, 0].tolist() == [2.0, 4.0, 8.0, 16.0]
    assert model.modes == [(False, False)] * 4 and model.training
    with pytest.raises(ValueError, match="steps must be >= 1"):
        rollout(model, Data(x=torch.ones(1)), 0)


def test_meshgraphnet_rollout_holds_walls():
    data = diffusion_graph(0)
    states = rollout(tiny_meshgraphnet(), data, steps=3)
    wall = data.node_type == 1
    assert torch.equal(states[:, wall], data.x[wall].expand(3, -1, -1))


def test_windows_to_frames():
    windows = torch.arange(12.0).reshape(2, 2, 3)  # 2 bundles, 2 nodes, tw = 3
    frames = windows_to_frames(windows)
    assert frames.tolist() == [[0, 3], [1, 4], [2, 5], [6, 9], [7, 10], [8, 11]]
