import copy

import pytest
import torch
from torch import nn
from torch_geometric.data import Data

from meshsim.train import accumulated_error, one_step_rmse, rmse, rmse_per_step, rollout_rmse


def test_rmse_values():
    truth = torch.zeros(4, 2, 1)
    prediction = torch.arange(1.0, 5.0).reshape(4, 1, 1).expand(4, 2, 1)
    assert rmse(prediction, truth) == pytest.approx((30 / 4) ** 0.5)
    assert rmse_per_step(prediction, truth).tolist() == [1.0, 2.0, 3.0, 4.0]
    assert rollout_rmse(prediction, truth, horizon=2) == pytest.approx(2.5 ** 0.5)
    assert rollout_rmse(prediction, truth) == rmse(prediction, truth)
    with pytest.raises(ValueError, match="horizon 5 is outside 1..4"):
        rollout_rmse(prediction, truth, 5)
    with pytest.raises(ValueError, match="differ in shape"):
        rmse(prediction, truth[:3])


def test_accumulated_error_matches_mp_pde_definition():
    truth = torch.zeros(2, 3, 4)  # 2 trajectories, 3 frames, nx = 4
    prediction = torch.ones(2, 3, 4)
    prediction[1] *= 2
    # trajectory 0: 3 frames * 4 * 1 / 4 = 3; trajectory 1: 3 * 4 * 4 / 4 = 12; mean 7.5
    assert accumulated_error(prediction, truth) == pytest.approx(7.5)
    assert accumulated_error(prediction[0], truth[0]) == pytest.approx(3.0)


class Shift(nn.Module):
    def advance(self, data):
        stepped = copy.copy(data)
        stepped.x = data.x + 1.0
        return stepped


def test_one_step_rmse_compares_with_first_columns_of_y():
    graphs = [Data(x=torch.zeros(3, 1), y=torch.tensor([[1.0, 9.0], [1.0, 9.0], [3.0, 9.0]])),
              Data(x=torch.zeros(1, 1), y=torch.tensor([[1.0, 0.0]]))]
    assert one_step_rmse(Shift(), graphs) == pytest.approx((4 / 4) ** 0.5)
    with pytest.raises(ValueError, match="no graphs"):
        one_step_rmse(Shift(), [])
