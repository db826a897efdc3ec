import numpy as np
import pytest
import torch

from meshsim.nn import Normalizer


def batches(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 3, generator=generator) * torch.tensor([1.0, 10.0, 0.1]) + torch.tensor([5.0, -2.0, 0.0])
            for n in (7, 11, 4)]


def test_statistics_equal_those_of_all_accumulated_rows():
    normalizer = Normalizer(3)
    data = batches()
    for batch in data:
        normalizer(batch)
    rows = torch.cat(data).double().numpy()
    assert np.allclose(normalizer.mean.numpy(), rows.mean(0), rtol=1e-12)
    assert np.allclose(normalizer.std.numpy(), rows.std(0), rtol=1e-10)
    assert int(normalizer.num_accumulations) == 3 and float(normalizer.count) == 22


def test_inverse_undoes_forward():
    normalizer = Normalizer(3)
    for batch in batches():
        normalizer(batch)
    normalizer.eval()
    x = batches(1)[0]
    assert torch.allclose(normalizer.inverse(normalizer(x)), x, atol=1e-5)
    standardised = normalizer(torch.cat(batches()))
    assert torch.allclose(standardised.mean(0), torch.zeros(3), atol=1e-5)


def test_accumulation_stops_at_cap_and_in_eval_mode():
    normalizer = Normalizer(3, max_accumulations=2)
    first, second, third = batches()
    normalizer(first)
    normalizer(second)
    mean = normalizer.mean.clone()
    normalizer(third)
    assert torch.equal(normalizer.mean, mean)
    frozen = Normalizer(3).eval()
    frozen(first)
    assert int(frozen.num_accumulations) == 0


def test_identity_before_data_and_floor_on_std():
    normalizer = Normalizer(2, std_epsilon=1e-3).eval()
    x = torch.tensor([[1.0, 2.0]])
    assert torch.equal(normalizer(x), x)
    normalizer.train()
    normalizer(torch.ones(5, 2))
    assert torch.allclose(normalizer.std, torch.full((2,), 1e-3, dtype=torch.float64))


def test_statistics_travel_in_state_dict():
    source = Normalizer(3)
    for batch in batches():
        source(batch)
    copy = Normalizer(3)
    copy.load_state_dict(source.state_dict())
    assert torch.equal(copy.mean, source.mean) and torch.equal(copy.std, source.std)


def test_wrong_feature_size_rejected():
    with pytest.raises(ValueError, match="size 3 got features of size 2"):
        Normalizer(3)(torch.ones(4, 2))
