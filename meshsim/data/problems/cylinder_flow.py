"""``cylinder_flow``: incompressible flow past a cylinder in the DFG channel (MeshGraphNets'
cylinder_flow), with random inflow speed and cylinder position and radius. Trajectories."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...fem import navier_stokes
from ...mesh import channel_with_cylinder
from ..errors import DatasetError
from ..params import interval, number, uniform
from ..sample import Sample
from ._common import make_sample

_LENGTH, _HEIGHT = 2.2, 0.41


@dataclass(frozen=True)
class CylinderFlowParams:
    """Parameters of the ``cylinder_flow`` problem; ranges are drawn uniformly per sample."""

    h: float = number(0.06, 0.005, 0.2, "element size away from the cylinder (m)")
    h_cylinder: float = number(0.02, 0.001, 0.2, "element size on the cylinder (m)")
    nu: float = number(1e-3, 1e-6, 1.0, "kinematic viscosity (m^2/s)")
    dt: float = number(0.02, 1e-5, 1.0, "time step (s)")
    num_frames: int = number(11, 2, 100_000, "saved frames, the initial state first")
    save_every: int = number(2, 1, 1000, "time steps between saved frames")
    warmup_frames: int = number(0, 0, 100_000, "frames simulated and dropped before the first saved one "
                                                "(lets the wake develop from the Stokes start)")
    mean_inflow: tuple = interval((0.5, 1.5), 0.0, 10.0, "mean inflow speed U_mean (m/s)")
    center_x: tuple = interval((0.15, 0.35), 0.1, 1.5, "cylinder centre x (m)")
    center_y: tuple = interval((0.15, 0.26), 0.08, 0.33, "cylinder centre y (m)")
    radius: tuple = interval((0.04, 0.06), 0.02, 0.07, "cylinder radius (m)")

    def check(self, where: str) -> None:
        """Every drawn cylinder fits in the channel with room to mesh around it."""
        margin = self.h_cylinder
        if self.center_y[0] - self.radius[1] < margin or self.center_y[1] + self.radius[1] > _HEIGHT - margin:
            raise DatasetError(f"{where}.center_y = {list(self.center_y)} with radius up to {self.radius[1]} "
                               f"leaves the channel of height {_HEIGHT}")


def sample_cylinder_flow(params: CylinderFlowParams, rng: np.random.Generator) -> Sample:
    """One sample: velocity (T, N, 2) and pressure (T, N, 1) over T = num_frames frames;
    params mean_inflow, center (2,), radius, reynolds."""
    speed, cx, cy, radius = (uniform(rng, r) for r in (params.mean_inflow, params.center_x,
                                                         params.center_y, params.radius))
    mesh = channel_with_cylinder(length=_LENGTH, height=_HEIGHT, center=(cx, cy), radius=radius,
                                 h=params.h, h_cylinder=params.h_cylinder)

    def parabolic_inflow(x: np.ndarray, t: float) -> np.ndarray:
        """Poiseuille profile of mean speed ``speed`` across the inlet, (2, n)."""
        y = x[1]
        return np.stack([6.0 * speed * y * (_HEIGHT - y) / _HEIGHT**2, np.zeros_like(y)])

    steps = (params.warmup_frames + params.num_frames - 1) * params.save_every
    flow = navier_stokes(mesh, params.nu, dt=params.dt, t_end=steps * params.dt,
                         inflow={"inlet": parabolic_inflow}, no_slip=("walls", "cylinder"),
                         save_every=params.save_every)
    kept = slice(params.warmup_frames, None)
    return make_sample(mesh, {"velocity": flow.velocity[kept], "pressure": flow.pressure[kept, :, None]},
                       {"mean_inflow": speed, "center": [cx, cy], "radius": radius,
                        "reynolds": speed * 2 * radius / params.nu}, times=flow.times[kept])
