"""Which implementation runs the sequence solvers' inner loops: ``"numba"`` (the compiled
kernels of `meshsim.fem.sequence.kernels`) or ``"scipy"`` (Python loops over scipy calls, SSOR's
triangles as SuperLU factors); ``"auto"`` takes numba when it is installed.

Both run the same iteration and give solutions that agree to the solver tolerance; they differ
in the last bits (a compiled dot product sums in another order than BLAS), so where a residual
sits at the tolerance the stopping test can fall one iteration apart (2 of 7 omegas on 2 of 20
darcy systems at h = 0.05). At darcy_square's 688 unknowns one SSOR-CG solve takes ~0.3 ms compiled against ~9 ms
in Python (the issue-16 solvers2 report).
"""
from __future__ import annotations

import importlib.util
from functools import cache

from ..errors import FEMError

#: the ``backend`` values the SSOR and GCRO-DR solvers accept
BACKENDS = ("auto", "numba", "scipy")


def resolve_backend(backend: str) -> str:
    """``"numba"`` or ``"scipy"``: the implementation ``backend`` names (``"auto"``: numba when
    it is installed).

    Raises:
        FEMError: an unknown name, or ``"numba"`` without numba installed.
    """
    if backend not in BACKENDS:
        raise FEMError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        return "numba" if _numba_installed() else "scipy"
    if backend == "numba" and not _numba_installed():
        raise FEMError("backend 'numba' needs numba (pip install numba); use backend='scipy'")
    return backend


@cache
def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def kernels():
    """The compiled kernels' module (imports numba; compiles on first use, cached on disk)."""
    from . import kernels as module

    return module
