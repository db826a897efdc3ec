r"""``heat_parametric``: heat flow into a channel with a bump, three parameters (the STNN setting).

.. math::
    u_t = \kappa \Delta u \quad \text{in } \Omega(H, a) = \{(x, y): 0 < x < L,\ b_a(x) < y < H\},

with the channel height ``H`` and the bump height ``a`` (geometry) and the diffusivity
``kappa`` (coefficient) drawn per sample. The bottom wall carries a cosine bump
``b_a(x) = a (1 + cos(2 pi (x - c) / w)) / 2`` for ``|x - c| < w / 2`` (0 elsewhere). Heat enters
at the inlet, ``u = sin(pi y / H)`` on ``x = 0``; the walls (top and bottom, bump included) are
held at ``u = 0``; the outlet ``x = L`` is insulated; ``u = 0`` at ``t = 0``. Implicit Euler
(`meshsim.fem.heat`, one factorisation per sample), frames every ``save_every`` steps.

Every sample lives on the same reference grid: the mesh is the image of a structured
``nx`` x ``ny`` triangle grid of the unit square under ``x = L xi``,
``y = b_a(x) + eta (H - b_a(x))`` (node ``j * nx + i`` at ``(xi_i, eta_j)``), so node ``k`` of
every sample is the same reference point and ``u`` reshaped to ``(T, ny, nx)`` is the solution
tensor over (t, eta, xi) of the parameter triple ``(height, bump, kappa)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...fem import heat
from ...mesh import Mesh
from ..errors import DatasetError
from ..params import interval, number, uniform
from ..sample import Sample
from ._common import make_sample

#: the sample's parameters, in the order of a parameter triple
PARAMETER_NAMES = ("height", "bump", "kappa")


@dataclass(frozen=True)
class HeatParametricParams:
    """Parameters of the ``heat_parametric`` problem; ranges are drawn uniformly per sample."""

    height: tuple = interval((0.5, 1.0), 0.05, 100.0, "channel height H")
    bump: tuple = interval((0.0, 0.25), 0.0, 100.0, "height a of the bump on the bottom wall")
    kappa: tuple = interval((0.02, 0.1), 1e-6, 1e3, "diffusivity (length^2 / time)")
    length: float = number(1.0, 0.01, 1000.0, "channel length L")
    bump_center: float = number(0.35, 0.0, 1000.0, "x of the bump's top")
    bump_width: float = number(0.4, 1e-3, 1000.0, "width w of the bump's base")
    nx: int = number(40, 2, 10_000, "reference grid nodes along the channel")
    ny: int = number(16, 2, 10_000, "reference grid nodes across the channel")
    dt: float = number(0.005, 1e-6, 10.0, "time step")
    num_steps: int = number(200, 1, 1_000_000, "time steps")
    save_every: int = number(20, 1, 1_000_000, "time steps between stored frames (frame 0 is t = 0)")

    def check(self, where: str = "params") -> None:
        """The frames divide the steps, and every drawn channel stays open over the bump."""
        if self.num_steps % self.save_every:
            raise DatasetError(f"{where}.save_every = {self.save_every} does not divide num_steps = "
                               f"{self.num_steps}")
        if self.bump[1] >= self.height[0]:
            raise DatasetError(f"{where}: the largest bump ({self.bump[1]}) must be below the smallest "
                               f"height ({self.height[0]}), or the channel closes")

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        """(T, ny, nx) of a sample's solution tensor, T the stored frames (t = 0 included)."""
        return self.num_steps // self.save_every + 1, self.ny, self.nx


def channel_mesh(params: HeatParametricParams, height: float, bump: float) -> Mesh:
    """The channel of height ``height`` with a bump of height ``bump``, meshed as the image of the
    reference grid (see the module docstring); boundaries ``inlet``, ``outlet``, ``walls``."""
    if not bump < height:
        raise DatasetError(f"bump height {bump} must be below the channel height {height} (negative: a dip)")
    nx, ny = params.nx, params.ny
    xi, eta = np.meshgrid(np.linspace(0.0, 1.0, nx), np.linspace(0.0, 1.0, ny))
    x = params.length * xi
    offset = (x - params.bump_center) / params.bump_width
    floor = np.where(np.abs(offset) < 0.5, 0.5 * bump * (1.0 + np.cos(2.0 * np.pi * offset)), 0.0)
    points = np.stack([x.ravel(), (floor + eta * (height - floor)).ravel()], axis=1)
    corner = (np.arange(ny - 1)[:, None] * nx + np.arange(nx - 1)[None, :]).ravel()
    a, b, c, d = corner, corner + 1, corner + nx + 1, corner + nx
    cells = np.concatenate([np.stack([a, b, c], axis=1), np.stack([a, c, d], axis=1)])
    rows, columns = np.arange(ny) * nx, np.arange(nx)
    walls = np.concatenate([np.stack([columns[:-1], columns[1:]], axis=1),
                            (ny - 1) * nx + np.stack([columns[:-1], columns[1:]], axis=1)])
    boundary = {"inlet": np.stack([rows[:-1], rows[1:]], axis=1),
                "outlet": np.stack([rows[:-1], rows[1:]], axis=1) + nx - 1, "walls": walls}
    return Mesh(points, cells, boundary)


def solve_heat_parametric(params: HeatParametricParams, height: float, bump: float, kappa: float) -> Sample:
    """The sample of one parameter triple (any values, also outside the recipe's ranges): u (T, N, 1)
    on the mapped reference grid at ``T = num_steps / save_every + 1`` frames, t = 0 first."""
    mesh = channel_mesh(params, height, bump)
    trajectory = heat(mesh, 0.0, params.dt, params.num_steps, kappa=kappa,
                      dirichlet={"inlet": lambda x: np.sin(np.pi * x[1] / height), "walls": 0.0})  # walls win at corners
    frames = slice(None, None, params.save_every)
    return make_sample(mesh, {"u": trajectory.values[frames, :, None]},
                       {"height": height, "bump": bump, "kappa": kappa}, times=trajectory.times[frames])


def sample_heat_parametric(params: HeatParametricParams, rng: np.random.Generator) -> Sample:
    """One sample: (height, bump, kappa) drawn uniformly from their ranges, then solved."""
    height, bump, kappa = (uniform(rng, getattr(params, name)) for name in PARAMETER_NAMES)
    return solve_heat_parametric(params, height, bump, kappa)


def outside_range_triples(params: HeatParametricParams, margin: float = 0.1) -> list[tuple[float, float, float]]:
    """Held-out (height, bump, kappa) triples outside the recipe's ranges: for each parameter in
    turn, ``margin`` of its range below its low end and above its high end, the others at the
    middle of their ranges (6 triples; a negative bump is a dip in the bottom wall)."""
    ranges = [getattr(params, name) for name in PARAMETER_NAMES]
    middle = [0.5 * (lo + hi) for lo, hi in ranges]
    triples = []
    for k, (lo, hi) in enumerate(ranges):
        for value in (lo - margin * (hi - lo), hi + margin * (hi - lo)):
            triple = list(middle)
            triple[k] = value
            triples.append(tuple(triple))
    return triples
