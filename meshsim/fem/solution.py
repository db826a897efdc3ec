"""Results of FEM problems: a field (`Solution`) or a trajectory of fields (`Trajectory`) on a
`FunctionSpace`, with values at the mesh points and error norms against exact solutions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from skfem import Functional

from .space import FunctionSpace


@dataclass(frozen=True, eq=False)
class Solution:
    """A finite element field.

    Attributes:
        space: the space it lives in.
        dofs: (num_dofs,) coefficients (scikit-fem numbering).
    """

    space: FunctionSpace
    dofs: np.ndarray

    @property
    def values(self) -> np.ndarray:
        """Values at the mesh points: (N,) scalar, (N, dim) vector."""
        return self.space.to_vertices(self.dofs)

    def l2_error(self, exact: Callable[[np.ndarray], np.ndarray]) -> float:
        """``||u_h - u||_L2`` against ``exact(x)``, x (dim, E, Q), by the space's quadrature."""
        return l2_error(self.space, self.dofs, exact)

    def h1_error(self, exact_grad: Callable[[np.ndarray], np.ndarray]) -> float:
        """``||grad u_h - grad u||_L2`` against ``exact_grad(x)`` returning (dim, E, Q)."""
        return h1_seminorm_error(self.space, self.dofs, exact_grad)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A field at a sequence of times.

    Attributes:
        space: the space the fields live in.
        times: (T+1,) times, starting with the initial condition's.
        dofs: (T+1, num_dofs) coefficients per time.
    """

    space: FunctionSpace
    times: np.ndarray
    dofs: np.ndarray

    @property
    def values(self) -> np.ndarray:
        """(T+1, N) values at the mesh points (or (T+1, N, dim) for a vector field)."""
        return self.space.to_vertices(self.dofs)

    def __len__(self) -> int:
        return len(self.times)

    def __getitem__(self, step: int) -> Solution:
        """The field at ``times[step]``."""
        return Solution(self.space, self.dofs[step])


@Functional
def _squared_difference(w):
    return (w.uh - w.exact) ** 2


@Functional
def _squared_gradient_difference(w):
    return ((w.uh.grad - w.exact_grad) ** 2).sum(axis=0)


def l2_error(space: FunctionSpace, dofs: np.ndarray, exact: Callable) -> float:
    """L2 norm of (FE field - exact), by the space's quadrature (scalar spaces)."""
    x = np.asarray(space.basis.global_coordinates())
    exact_q = np.broadcast_to(np.asarray(exact(x), dtype=np.float64), x.shape[1:])
    return float(np.sqrt(_squared_difference.assemble(space.basis, uh=space.basis.interpolate(dofs),
                                                      exact=exact_q)))


def h1_seminorm_error(space: FunctionSpace, dofs: np.ndarray, exact_grad: Callable) -> float:
    """L2 norm of grad(FE field - exact), by the space's quadrature (scalar spaces)."""
    x = np.asarray(space.basis.global_coordinates())
    grad_q = np.broadcast_to(np.asarray(exact_grad(x), dtype=np.float64), x.shape)
    return float(np.sqrt(_squared_gradient_difference.assemble(
        space.basis, uh=space.basis.interpolate(dofs), exact_grad=grad_q)))
