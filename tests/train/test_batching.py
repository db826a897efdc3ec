import pytest
import torch

from meshsim.train import StepBatchSampler, seed_for, step_generator


def test_epochs_are_permutations_without_the_tail():
    batches = list(StepBatchSampler(10, 3, seed=0, start_step=0, num_steps=6))
    assert len(batches) == 6 and all(len(b) == 3 for b in batches)
    for epoch in (batches[:3], batches[3:]):
        seen = sum(epoch, [])
        assert len(set(seen)) == 9 and set(seen) <= set(range(10))
    assert batches[:3] != batches[3:]


def test_ranks_split_the_single_process_batch():
    single = list(StepBatchSampler(12, 4, seed=5, start_step=0, num_steps=7))
    ranks = [list(StepBatchSampler(12, 2, seed=5, start_step=0, num_steps=7, rank=r, world_size=2))
             for r in range(2)]
    assert [a + b for a, b in zip(*ranks)] == single


def test_resumed_sampler_continues_the_same_sequence():
    whole = list(StepBatchSampler(10, 2, seed=1, start_step=0, num_steps=12))
    assert list(StepBatchSampler(10, 2, seed=1, start_step=7, num_steps=5)) == whole[7:]


def test_too_few_samples_rejected():
    with pytest.raises(ValueError, match="3 samples are fewer than one global batch of 4"):
        StepBatchSampler(3, 2, seed=0, start_step=0, num_steps=1, world_size=2)


def test_step_generators_are_distinct_and_reproducible():
    draws = {(s, r): torch.rand(3, generator=step_generator(0, s, r)).tolist() for s in range(3) for r in range(2)}
    assert len({tuple(v) for v in draws.values()}) == 6
    assert torch.rand(3, generator=step_generator(0, 2, 1)).tolist() == draws[(2, 1)]
    assert seed_for(1, 2) != seed_for(2, 1) and 0 <= seed_for(1, 2) < 2**63
