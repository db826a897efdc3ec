"""Thread defaults (`meshsim.threads`) and the suite's one-thread setting."""
import pytest
import torch

from meshsim.threads import DEFAULT_THREADS, set_openmp_environment, use_threads


@pytest.fixture(scope="module")
def threads_seen_by_a_module_fixture():
    return torch.get_num_threads()


def test_module_scoped_fixtures_run_with_one_thread(threads_seen_by_a_module_fixture):
    assert threads_seen_by_a_module_fixture == 1


def test_explicit_count_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert use_threads() == DEFAULT_THREADS == 1 == torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert use_threads() == 2 == torch.get_num_threads()
    assert use_threads(1) == 1 == torch.get_num_threads()
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
        use_threads(0)


def test_openmp_wait_policy_is_passive_unless_set(monkeypatch):
    import os

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    set_openmp_environment()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    set_openmp_environment()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
