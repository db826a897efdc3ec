"""``elasticity``: a plate with random circular holes, clamped on its left edge and pulled by a
random uniform traction on its right edge; linear elasticity in plane stress."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...fem import linear_elasticity
from ...mesh import Mesh, polygon
from ..errors import DatasetError
from ..params import interval, number, uniform
from ..sample import Sample
from ._common import make_sample

#: tries to place each hole before giving up on it
_PLACEMENT_TRIES = 100


@dataclass(frozen=True)
class ElasticityParams:
    """Parameters of the ``elasticity`` problem; ranges are drawn uniformly per sample."""

    h: float = number(0.06, 0.002, 0.5, "element size")
    width: float = number(2.0, 0.1, 100.0, "plate width (x)")
    height: float = number(1.0, 0.1, 100.0, "plate height (y)")
    num_holes: tuple = interval((1, 4), 0, 12, "holes tried (fewer when they do not fit)")
    hole_radius: tuple = interval((0.08, 0.2), 0.005, 10.0, "hole radius")
    youngs_modulus: tuple = interval((0.5, 2.0), 1e-6, 1e12, "Young's modulus E")
    poisson_ratio: tuple = interval((0.2, 0.4), 0.0, 0.49, "Poisson's ratio nu")
    traction: tuple = interval((0.001, 0.005), 0.0, 1e12, "traction magnitude on the right edge")
    traction_angle: tuple = interval((-90.0, 90.0), -180.0, 180.0, "traction direction from +x, degrees")

    @property
    def margin(self) -> float:
        """Least distance between holes and from a hole to the plate's edge."""
        return max(self.h, 0.05 * min(self.width, self.height))

    def check(self, where: str) -> None:
        """The largest hole fits in the plate with its margins."""
        if 2.0 * (self.hole_radius[1] + self.margin) >= min(self.width, self.height):
            raise DatasetError(f"{where}.hole_radius = {list(self.hole_radius)}: a hole of radius "
                               f"{self.hole_radius[1]} does not fit in the {self.width} x {self.height} plate")


def _holes(params: ElasticityParams, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    """Non-overlapping circles (cx, cy, r) inside the plate, by rejection sampling."""
    holes: list[tuple[float, float, float]] = []
    margin = params.margin
    for _ in range(uniform(rng, params.num_holes)):
        radius = uniform(rng, params.hole_radius)
        low, high = radius + margin, np.array([params.width, params.height]) - radius - margin
        centres = rng.uniform(low, high, size=(_PLACEMENT_TRIES, 2))
        if holes:
            others = np.array(holes)
            gaps = np.linalg.norm(centres[:, None] - others[None, :, :2], axis=2) - others[None, :, 2] - radius
            centres = centres[(gaps >= margin).all(axis=1)]
        if len(centres):
            holes.append((float(centres[0, 0]), float(centres[0, 1]), radius))
    return holes


def _with_edges(mesh: Mesh, width: float) -> Mesh:
    """``mesh`` with its ``outer`` boundary split into ``left`` (x = 0), ``right`` (x = width) and
    ``top_bottom``."""
    outer = mesh.boundary["outer"]
    x = mesh.points[outer, 0]  # (F, 2)
    eps = 1e-9 * width
    left, right = (x < eps).all(axis=1), (x > width - eps).all(axis=1)
    boundary = {name: facets for name, facets in mesh.boundary.items() if name != "outer"}
    boundary.update(left=outer[left], right=outer[right], top_bottom=outer[~(left | right)])
    return Mesh(mesh.points, mesh.cells, boundary, validate=False)


def sample_elasticity(params: ElasticityParams, rng: np.random.Generator) -> Sample:
    """One sample: fields load (N, 2) (the traction on right-edge nodes, 0 elsewhere),
    displacement (N, 2) and von_mises (N, 1); params youngs_modulus, poisson_ratio,
    traction (2,), num_holes. Node types: ``left`` (clamped) is HANDLE, the other edges and
    holes BOUNDARY."""
    from ...graph import NodeType  # with make_sample's import of meshsim.graph (torch)

    holes = _holes(params, rng)
    E, nu, magnitude, angle = (uniform(rng, r) for r in (params.youngs_modulus, params.poisson_ratio,
                                                        params.traction, params.traction_angle))
    traction = magnitude * np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    corners = [(0.0, 0.0), (params.width, 0.0), (params.width, params.height), (0.0, params.height)]
    mesh = _with_edges(polygon(corners, holes, h=params.h), params.width)
    solution = linear_elasticity(mesh, E, nu, dirichlet={"left": (0.0, 0.0)}, traction={"right": tuple(traction)},
                                 plane="stress")
    load = np.zeros((mesh.num_points, 2))
    load[mesh.boundary_nodes("right")] = traction
    return make_sample(mesh, {"load": load, "displacement": solution.displacement.values,
                              "von_mises": solution.von_mises},
                       {"youngs_modulus": E, "poisson_ratio": nu, "traction": traction, "num_holes": len(holes)},
                       node_type_map={"left": NodeType.HANDLE})
