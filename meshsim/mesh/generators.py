"""gmsh mesh generators: interval, rectangle, disk, polygon, DFG channel, random domain, box, .geo.

Every generator builds its geometry with gmsh's OpenCASCADE kernel in a fresh model, meshes it
with gmsh's default algorithms and returns a validated, positively oriented `Mesh` whose
``boundary`` holds the named boundary facets. ``h`` is the largest element size (gmsh's
``Mesh.MeshSizeMax``), in the units of the coordinates.

Local refinement (2D and 3D generators): ``refine`` is a sequence of `Refinement` or a mapping
``{boundary name: (h_min, dist_min, dist_max)}``. The element size is ``h_min`` within
``dist_min`` of that boundary and grows linearly to ``h`` at ``dist_max`` (gmsh Distance and
Threshold fields, combined by a Min field when there are several).

Size guard: before meshing, the number of elements is estimated from the domain's area (volume)
and the sizes, refinements included (`meshsim.mesh._gmsh.estimate_elements`); above 5 million a
generator raises `MeshError` with the estimate unless called with ``force=True``. From 200,000 on
it prints the estimate and gmsh's progress messages on stderr.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from . import _gmsh
from ._polygons import as_polygon, check_domain, random_holes, random_star_polygon
from .errors import MeshError
from .geo_safety import check_geo
from .mesh import Mesh


@dataclass(frozen=True)
class Refinement:
    """Smaller elements near a named boundary.

    Attributes:
        boundary: name of a boundary of the generated mesh (e.g. ``"cylinder"``).
        h_min: element size within ``dist_min`` of that boundary.
        dist_min: distance from the boundary up to which the size is ``h_min``.
        dist_max: distance at which the size has grown linearly to the generator's ``h``.
    """

    boundary: str
    h_min: float
    dist_min: float
    dist_max: float

    def __post_init__(self):
        if not (self.h_min > 0 and 0 <= self.dist_min < self.dist_max and math.isfinite(self.dist_max)):
            raise MeshError(f"bad {self}: need h_min > 0 and 0 <= dist_min < dist_max < inf")


RefineSpec = Sequence[Refinement] | Mapping[str, tuple[float, float, float]] | None


def _refinements(refine: RefineSpec) -> tuple[Refinement, ...]:
    """`Refinement` tuple from either accepted form of the ``refine`` argument."""
    if refine is None:
        return ()
    if isinstance(refine, Mapping):
        bad = {name: spec for name, spec in refine.items() if len(spec) != 3}
        if bad:
            raise MeshError(f"refine maps boundary names to (h_min, dist_min, dist_max); got {bad}")
        return tuple(Refinement(name, *map(float, spec)) for name, spec in refine.items())
    refinements = tuple(refine)
    bad = [r for r in refinements if not isinstance(r, Refinement)]
    if bad:
        raise MeshError(f"refine must hold Refinement objects or map names to (h_min, dist_min, dist_max); got {bad}")
    return refinements


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float, np.number)) and math.isfinite(value) and value > 0):
            raise MeshError(f"{name} must be a positive finite number, got {value!r}")


def _name_boxes(gmsh, dim: int, boxes: Mapping[str, Sequence[tuple]], eps: float) -> None:
    """One physical group per name, holding the entities inside any of its (lower, upper) boxes
    widened by ``eps`` (OpenCASCADE pads bounding boxes by its tolerance, 1e-7)."""
    for name, name_boxes in boxes.items():
        tags = [t for lower, upper in name_boxes for t in _gmsh.entities_in_box(gmsh, dim, lower, upper, eps)]
        _gmsh.name_boundary(gmsh, dim, name, tags)


def interval(a: float = 0.0, b: float = 1.0, h: float = 0.1, force: bool = False) -> Mesh:
    """1D mesh of [a, b]: points (N, 1), cells (M, 2); boundaries ``"left"`` (x = a) and
    ``"right"`` (x = b), each one (1, 1) point facet."""
    _positive(h=h, length=b - a)
    with _gmsh.session("interval", a=a, b=b, h=h) as gmsh:
        occ = gmsh.model.occ
        left, right = occ.addPoint(a, 0, 0), occ.addPoint(b, 0, 0)
        occ.addLine(left, right)
        occ.synchronize()
        _gmsh.name_boundary(gmsh, 0, "left", [left])
        _gmsh.name_boundary(gmsh, 0, "right", [right])
        return _gmsh.generate(gmsh, 1, h, force=force)


def rectangle(width: float = 1.0, height: float = 1.0, h: float = 0.1, origin: tuple = (0.0, 0.0),
              refine: RefineSpec = None, force: bool = False) -> Mesh:
    """Triangle mesh of [x0, x0 + width] x [y0, y0 + height], ``origin = (x0, y0)``; boundaries
    ``"left"``, ``"right"``, ``"bottom"``, ``"top"`` (x = x0, x = x0 + width, y = y0, y = y0 + height)."""
    _positive(width=width, height=height, h=h)
    x0, y0 = map(float, origin)
    x1, y1 = x0 + width, y0 + height
    with _gmsh.session("rectangle", width=width, height=height, h=h, origin=origin) as gmsh:
        gmsh.model.occ.addRectangle(x0, y0, 0, width, height)
        gmsh.model.occ.synchronize()
        _name_boxes(gmsh, 1, {"left": [((x0, y0, 0), (x0, y1, 0))], "right": [((x1, y0, 0), (x1, y1, 0))],
                              "bottom": [((x0, y0, 0), (x1, y0, 0))], "top": [((x0, y1, 0), (x1, y1, 0))]},
                    eps=1e-6 * (1 + max(width, height)))
        return _gmsh.generate(gmsh, 2, h, _refinements(refine), force=force)


def disk(radius: float = 1.0, center: tuple = (0.0, 0.0), h: float = 0.1, refine: RefineSpec = None,
         force: bool = False) -> Mesh:
    """Triangle mesh of the disk of ``radius`` about ``center = (cx, cy)``; boundary ``"boundary"``."""
    _positive(radius=radius, h=h)
    cx, cy = map(float, center)
    with _gmsh.session("disk", radius=radius, center=center, h=h) as gmsh:
        gmsh.model.occ.addDisk(cx, cy, 0, radius, radius)
        gmsh.model.occ.synchronize()
        _gmsh.name_boundary(gmsh, 1, "boundary", [t for _, t in gmsh.model.getEntities(1)])
        return _gmsh.generate(gmsh, 2, h, _refinements(refine), force=force)


def _add_loop(occ, shape) -> tuple[int, list[int]]:
    """Curve loop of a polygon (V, 2) or circle (cx, cy, r); returns (loop tag, curve tags)."""
    array = np.asarray(shape, dtype=np.float64)
    if array.shape == (3,):
        curves = [occ.addCircle(array[0], array[1], 0, array[2])]
    else:
        points = [occ.addPoint(x, y, 0) for x, y in array]
        curves = [occ.addLine(p, q) for p, q in zip(points, points[1:] + points[:1])]
    return occ.addCurveLoop(curves), curves


def polygon(vertices, holes: Sequence = (), h: float = 0.1, refine: RefineSpec = None, force: bool = False) -> Mesh:
    """Triangle mesh of a simple polygon with holes.

    Args:
        vertices: (V, 2) outer boundary vertices in order (either orientation), V >= 3.
        holes: each a (V_i, 2) polygon or a circle ``(cx, cy, r)``, strictly inside the outer
            polygon and disjoint from the other holes.
        h: largest element size.
        refine: see the module docstring.
        force: mesh even above the size guard's limit (see the module docstring).

    Boundaries: ``"outer"`` and ``"hole_0"``, ``"hole_1"``, ... in the order of ``holes``.
    Raises `MeshError` if the outer polygon or a hole intersects itself, a hole leaves the
    outer polygon, or two holes overlap.
    """
    _positive(h=h)
    outer = as_polygon(vertices, "vertices", allow_circle=False)
    holes = list(holes)
    check_domain(outer, [as_polygon(hole, f"hole_{i}") for i, hole in enumerate(holes)])
    with _gmsh.session("polygon", vertices=outer.tolist(), holes=holes, h=h) as gmsh:
        occ = gmsh.model.occ
        outer_loop, outer_curves = _add_loop(occ, outer)
        hole_loops = [_add_loop(occ, hole) for hole in holes]
        occ.addPlaneSurface([outer_loop] + [loop for loop, _ in hole_loops])
        occ.synchronize()
        _gmsh.name_boundary(gmsh, 1, "outer", outer_curves)
        for i, (_, curves) in enumerate(hole_loops):
            _gmsh.name_boundary(gmsh, 1, f"hole_{i}", curves)
        return _gmsh.generate(gmsh, 2, h, _refinements(refine), force=force)


def channel_with_cylinder(length: float = 2.2, height: float = 0.41, center: tuple = (0.2, 0.2),
                          radius: float = 0.05, h: float = 0.02, h_cylinder: float | None = None,
                          refine: RefineSpec = None, force: bool = False) -> Mesh:
    """Triangle mesh of the DFG flow-around-a-cylinder channel [0, length] x [0, height]
    minus the disk of ``radius`` about ``center`` (Schaefer & Turek 1996 defaults).

    Boundaries: ``"inlet"`` (x = 0), ``"outlet"`` (x = length), ``"walls"`` (y = 0 and
    y = height), ``"cylinder"``. Elements have size ``h_cylinder`` (default ``h / 4``) on the
    cylinder, growing linearly to ``h`` at distance ``4 * radius`` from it; pass
    ``h_cylinder=h`` for a uniform mesh. ``refine`` adds further refinements.
    """
    h_cylinder = h / 4 if h_cylinder is None else h_cylinder
    _positive(length=length, height=height, radius=radius, h=h, h_cylinder=h_cylinder)
    cx, cy = map(float, center)
    if not (0 < cx - radius and cx + radius < length and 0 < cy - radius and cy + radius < height):
        raise MeshError(f"cylinder of radius {radius} at {center} does not fit strictly inside the "
                        f"channel [0, {length}] x [0, {height}]")
    refinements = _refinements(refine)
    if h_cylinder < h:
        refinements = (Refinement("cylinder", h_cylinder, 0.0, 4.0 * radius),) + refinements
    with _gmsh.session("channel_with_cylinder", length=length, height=height, center=center,
                       radius=radius, h=h, h_cylinder=h_cylinder) as gmsh:
        occ = gmsh.model.occ
        occ.cut([(2, occ.addRectangle(0, 0, 0, length, height))], [(2, occ.addDisk(cx, cy, 0, radius, radius))])
        occ.synchronize()
        _name_boxes(gmsh, 1, {"inlet": [((0, 0, 0), (0, height, 0))],
                              "outlet": [((length, 0, 0), (length, height, 0))],
                              "walls": [((0, 0, 0), (length, 0, 0)), ((0, height, 0), (length, height, 0))],
                              "cylinder": [((cx - radius, cy - radius, 0), (cx + radius, cy + radius, 0))]},
                    eps=1e-6 * (1 + length))
        return _gmsh.generate(gmsh, 2, h, refinements, force=force)


def random_domain(seed: int, h: float = 0.05, size: float = 1.0, num_vertices: tuple = (5, 12),
                  max_holes: int = 3, refine: RefineSpec = None, force: bool = False) -> Mesh:
    """Triangle mesh of a random polygon with random holes, for diverse datasets.

    The outer boundary is star-shaped about the origin with ``num_vertices`` (min, max)
    vertices at radii in [0.55, 1] * size; 0 to ``max_holes`` holes (circles or 3-6 gons of
    radius 0.08-0.2 * size) lie inside, 0.08 * size apart from each other and the outer
    boundary. The geometry depends only on ``seed`` (numpy PCG64), not on ``h``; the same
    arguments give a bit-identical mesh. Boundaries ``"outer"``, ``"hole_0"``, ...
    """
    _positive(h=h, size=size)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MeshError(f"seed must be an integer >= 0, got {seed!r}")
    lo, hi = (int(n) for n in num_vertices)
    if not 3 <= lo <= hi:
        raise MeshError(f"num_vertices must be (min, max) with 3 <= min <= max, got {num_vertices}")
    rng = np.random.default_rng(seed)
    outer = random_star_polygon(rng, size, (lo, hi))
    holes = random_holes(rng, outer, size, int(max_holes))
    return polygon(outer, holes, h=h, refine=refine, force=force)


def box(size: tuple = (1.0, 1.0, 1.0), h: float = 0.2, origin: tuple = (0.0, 0.0, 0.0),
        refine: RefineSpec = None, force: bool = False) -> Mesh:
    """Tetrahedral mesh of the box ``origin + [0, size]``; boundaries ``"left"``, ``"right"``
    (x-, x+), ``"front"``, ``"back"`` (y-, y+), ``"bottom"``, ``"top"`` (z-, z+), facets (F, 3)."""
    if len(size) != 3 or len(origin) != 3:
        raise MeshError(f"size and origin of a box are 3 numbers each, got size={size!r}, origin={origin!r}")
    dx, dy, dz = map(float, size)
    _positive(size_x=dx, size_y=dy, size_z=dz, h=h)
    lo = np.asarray(origin, dtype=float)
    hi = lo + (dx, dy, dz)
    faces = {}
    for axis, (low_name, high_name) in enumerate((("left", "right"), ("front", "back"), ("bottom", "top"))):
        for name, value in ((low_name, lo[axis]), (high_name, hi[axis])):
            upper = hi.copy()
            upper[axis] = value
            lower = lo.copy()
            lower[axis] = value
            faces[name] = [(lower, upper)]
    with _gmsh.session("box", size=size, h=h, origin=origin) as gmsh:
        gmsh.model.occ.addBox(*lo, dx, dy, dz)
        gmsh.model.occ.synchronize()
        _name_boxes(gmsh, 2, faces, eps=1e-6 * (1 + max(dx, dy, dz)))
        return _gmsh.generate(gmsh, 3, h, _refinements(refine), force=force)


def from_geo(path, h: float | None = None, dim: int | None = None, refine: RefineSpec = None,
             force: bool = False, trust: bool = False) -> Mesh:
    """Mesh a gmsh ``.geo`` file.

    Args:
        path: the .geo file.
        h: largest element size (``Mesh.MeshSizeMax``; a ``Mesh.MeshSizeFactor`` set in the
            file still scales it); ``None`` keeps the sizes the file sets.
        dim: dimension of the cells; default the model's dimension.
        refine: see the module docstring; names are the file's physical groups.
        force: mesh even above the size guard's limit (the estimate uses h, or the sizes the file
            sets at points).
        trust: run the file even if it (or a file it includes) holds commands that act outside
            gmsh: ``SystemCall``, ``Print``, ``Save``, ``Exit``, ... (`meshsim.mesh.geo_safety`);
            by default such a file is refused with a `MeshError` naming the line.

    Cells are the elements of dimension ``dim``; boundaries are the physical groups of
    dimension ``dim - 1``, by name (an unnamed group by its tag, e.g. ``"3"``).
    Raises `MeshError` naming the file if it is missing or gmsh cannot read or mesh it.
    """
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"geo file {str(path)!r} does not exist")
    if h is not None:
        _positive(h=h)
    if dim is not None and dim not in (1, 2, 3):
        raise MeshError(f"dim must be 1, 2 or 3, got {dim!r}")
    if not trust:
        check_geo(path)
    with _gmsh.session("from_geo", path=str(path), h=h, dim=dim) as gmsh:
        gmsh.open(str(path))
        dim = dim or gmsh.model.getDimension()
        if dim < 1:
            raise MeshError("the file defines no curves, surfaces or volumes")
        return _gmsh.generate(gmsh, dim, h, _refinements(refine), sizes_from_points=True, force=force)
