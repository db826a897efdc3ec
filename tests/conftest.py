"""Suite-wide fixtures."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The suite's tensors are tiny: a second intra-op thread only adds contention (10x slower
    on a busy 2-core machine)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
