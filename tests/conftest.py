"""Suite-wide settings: one torch thread with sleeping OpenMP threads, from the first import on.

The suite's tensors are tiny: a second intra-op thread only adds contention (10x slower on a busy
2-core machine). The thread count is set here, at import, before any fixture runs (module-scoped
ones included), and the OpenMP wait policy goes into the environment before torch loads OpenMP.
"""
import pytest

from meshsim.threads import use_threads

use_threads(1)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Back to one thread after a test that changed it (``--threads 2``, a tutorial's ``main``)."""
    yield
    use_threads(1)
