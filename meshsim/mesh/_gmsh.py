"""One gmsh session per process, mesh-size fields, and conversion of the gmsh model to a `Mesh`.

gmsh is imported and initialised on the first mesh a process makes, never at import time, and
finalised at interpreter exit. The session remembers the process id that started it: a child
made by ``fork`` after the parent started gmsh inherits a copy of the parent's gmsh state, so it
throws that copy away and starts its own session. gmsh is initialised with
``interruptible=False`` (it then installs no SIGINT handler), so it can start in any thread,
e.g. a Dask worker thread; a lock serialises meshing within a process because gmsh is not
thread safe.
"""
from __future__ import annotations

import atexit
import math
import os
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np

from .errors import MeshError
from .geometry import orient_cells
from .mesh import Mesh

#: gmsh element type of a full simplex by topological dimension (0 = point facets of a 1D mesh)
_SIMPLEX_TYPE = {0: 15, 1: 1, 2: 2, 3: 4}
_SIMPLEX_NODES = {0: 1, 1: 2, 2: 3, 3: 4}
#: most sample points per curve (per parametric direction for surfaces) of a Distance field
_MAX_SAMPLING = {1: 20000, 2: 400}
#: most elements `generate` makes without ``force=True`` (estimated before meshing)
MAX_ELEMENTS = 5_000_000
#: estimated element count from which gmsh's progress messages are shown on the terminal
LARGE_ELEMENTS = 200_000
#: mean measure of one gmsh element of size h, over h**dim: a segment; an equilateral triangle
#: (gmsh: 0.99 of the estimate's count on a square); gmsh's tetrahedra are larger than regular
#: ones (1/(6 sqrt 2) = 0.118): 4.6-4.9 per h**3 in a box, so 0.2 (a slight overestimate)
_ELEMENT_MEASURE = {1: 1.0, 2: math.sqrt(3) / 4, 3: 0.2}
_ELEMENT_NAME = {1: "line segments", 2: "triangles", 3: "tetrahedra"}

_lock = threading.RLock()
_state = {"pid": None, "atexit": False}


def _finalize_at_exit() -> None:
    """Finalise gmsh if this process started the current session (not a forked copy)."""
    import gmsh

    if _state["pid"] == os.getpid() and gmsh.isInitialized():
        gmsh.finalize()


def _gmsh():
    """The gmsh module with a session started by this process."""
    import gmsh

    pid = os.getpid()
    if _state["pid"] == pid:
        return gmsh
    if _state["pid"] is not None and gmsh.isInitialized():
        gmsh.finalize()  # the parent's session, inherited through fork
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    _state["pid"] = pid
    if not _state["atexit"]:
        atexit.register(_finalize_at_exit)
        _state["atexit"] = True
    return gmsh


def _reset(gmsh) -> None:
    """Default options (silent, exceptions on error, one thread) and no models."""
    gmsh.option.restoreDefaults()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.option.setNumber("General.Verbosity", 0)
    gmsh.option.setNumber("General.AbortOnError", 2)
    gmsh.option.setNumber("General.NumThreads", 1)
    gmsh.clear()


def _describe(what: str, params: dict) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return f"{what}({args})"


@contextmanager
def session(what: str, **params) -> Iterator:
    """Yield the gmsh module with a fresh, empty model named ``what`` and default options.

    Errors raised by gmsh inside the block become `MeshError` naming ``what`` and ``params``.
    """
    with _lock:
        gmsh = _gmsh()
        _reset(gmsh)
        gmsh.model.add(what)
        try:
            yield gmsh
        except MeshError as error:
            raise MeshError(f"{_describe(what, params)}: {error}") from error
        except Exception as error:  # gmsh raises plain Exception with its last error message
            raise MeshError(f"gmsh failed on {_describe(what, params)}: {error}") from error
        finally:
            gmsh.clear()


def name_boundary(gmsh, dim: int, name: str, tags: Sequence[int]) -> None:
    """Make a physical group called ``name`` of the dimension-``dim`` entities ``tags``."""
    tags = [int(t) for t in tags]
    if not tags:
        raise MeshError(f"boundary {name!r} has no geometric entities")
    gmsh.model.addPhysicalGroup(dim, tags, name=name)


def entities_in_box(gmsh, dim: int, lower, upper, eps: float) -> list[int]:
    """Tags of dimension-``dim`` entities inside the box [lower - eps, upper + eps] (3D points)."""
    lo = np.asarray(lower, dtype=float) - eps
    hi = np.asarray(upper, dtype=float) + eps
    return [tag for _, tag in gmsh.model.getEntitiesInBoundingBox(*lo, *hi, dim)]


def _boundary_entities(gmsh, dim: int) -> dict[str, list[int]]:
    """Boundary name -> tags of the entities of its physical group of dimension ``dim``.

    A physical group without a name is called by its tag, e.g. ``"3"``.
    """
    groups = {}
    for _, tag in gmsh.model.getPhysicalGroups(dim):
        name = gmsh.model.getPhysicalName(dim, tag) or str(tag)
        groups[name] = [int(t) for t in gmsh.model.getEntitiesForPhysicalGroup(dim, tag)]
    return groups


def _sampling(gmsh, dim: int, tags: Sequence[int], h_min: float) -> int:
    """Distance-field samples per entity (per direction) so samples lie ~h_min/4 apart."""
    diagonal = max(math.dist(box[:3], box[3:]) for box in
                   (gmsh.model.getBoundingBox(dim, tag) for tag in tags))
    return int(min(_MAX_SAMPLING[dim], max(20, math.ceil(4.0 * diagonal / h_min))))


def _add_size_fields(gmsh, dim: int, h: float | None, refine) -> None:
    """Distance + Threshold field per refinement, combined by a Min field as background size."""
    groups = _boundary_entities(gmsh, dim - 1)
    field = gmsh.model.mesh.field
    thresholds = []
    for r in refine:
        if r.boundary not in groups:
            raise MeshError(f"cannot refine near boundary {r.boundary!r}: the boundaries are {sorted(groups)}")
        tags = groups[r.boundary]
        distance = field.add("Distance")
        field.setNumbers(distance, "CurvesList" if dim == 2 else "SurfacesList", tags)
        field.setNumber(distance, "Sampling", _sampling(gmsh, dim - 1, tags, r.h_min))
        threshold = field.add("Threshold")
        field.setNumber(threshold, "InField", distance)
        field.setNumber(threshold, "SizeMin", r.h_min)
        field.setNumber(threshold, "SizeMax", max(r.h_min, h if h is not None else r.h_min))
        field.setNumber(threshold, "DistMin", r.dist_min)
        field.setNumber(threshold, "DistMax", r.dist_max)
        thresholds.append(threshold)
    if len(thresholds) == 1:
        field.setAsBackgroundMesh(thresholds[0])
    elif thresholds:
        smallest = field.add("Min")
        field.setNumbers(smallest, "FieldsList", thresholds)
        field.setAsBackgroundMesh(smallest)


def _measure(gmsh, dim: int, tags: Sequence[int]) -> float:
    """Total length/area/volume of dimension-``dim`` entities (OpenCASCADE's; the bounding box's
    for entities of gmsh's built-in kernel, an upper bound)."""
    total = 0.0
    for tag in tags:
        try:
            total += gmsh.model.occ.getMass(dim, tag)
        except Exception:  # gmsh raises plain Exception for an entity OpenCASCADE does not know
            box = gmsh.model.getBoundingBox(dim, tag)
            extents = sorted((hi - lo for lo, hi in zip(box[:3], box[3:])), reverse=True)
            total += math.prod(extents[:dim])
    return total


def _point_size(gmsh) -> float | None:
    """Geometric mean of the mesh sizes set at the model's points (a .geo file's), or None."""
    points = gmsh.model.getEntities(0)
    sizes = np.asarray(gmsh.model.mesh.getSizes(points) if points else [], dtype=float)
    sizes = sizes[(sizes > 0) & (sizes < 1e20)]
    return float(np.exp(np.log(sizes).mean())) if len(sizes) else None


def _band_elements(boundary: float, r, h: float, dim: int, samples: int = 256) -> float:
    """Integral over the distance d from the boundary, up to ``r.dist_max``, of the band's
    measure per unit d over the element size ``s(d)`` to the power ``dim`` (``h_min`` up to
    ``dist_min``, growing linearly to h at ``dist_max``). In 2D the band's length grows as
    ``boundary + 2 pi d``, as around a hole (an upper bound for other boundaries)."""
    d = (np.arange(samples) + 0.5) * (r.dist_max / samples)
    growth = np.clip((d - r.dist_min) / (r.dist_max - r.dist_min), 0.0, 1.0)
    size = r.h_min + growth * max(h - r.h_min, 0.0)
    width = boundary + (2 * math.pi * d if dim == 2 else 0.0)
    return float(np.sum(width / size**dim) * (r.dist_max / samples))


def estimate_elements(gmsh, dim: int, h: float | None, refine: Sequence = (), sizes_from_points: bool = False) -> float:
    """About how many ``dim``-simplices meshing the current model makes: the domain's measure over
    one element's at size h (`_ELEMENT_MEASURE`; within 13% of gmsh's counts on the shipped
    generators, refined or not), plus for each refinement the elements of its band
    (`_band_elements`). With ``sizes_from_points`` the size is the geometric mean of the sizes set
    at points, if smaller than h."""
    sizes = [size for size in (h, _point_size(gmsh) if sizes_from_points else None) if size is not None]
    if not sizes:
        return 0.0
    size = min(sizes) * gmsh.option.getNumber("Mesh.MeshSizeFactor")
    unit = _ELEMENT_MEASURE[dim]
    domain = _measure(gmsh, dim, [t for _, t in gmsh.model.getEntities(dim)])
    count = domain / (unit * size**dim)
    groups = _boundary_entities(gmsh, dim - 1) if refine else {}
    for r in refine:
        boundary = _measure(gmsh, dim - 1, groups.get(r.boundary, []))
        count += min(_band_elements(boundary, r, size, dim) / unit, domain / (unit * r.h_min**dim))
    return count


def generate(gmsh, dim: int, h: float | None, refine: Sequence = (), sizes_from_points: bool = False,
             force: bool = False) -> Mesh:
    """Mesh the current model in dimension ``dim`` and convert it to a `Mesh`.

    Args:
        dim: topological dimension of the cells (1, 2 or 3).
        h: largest element size (gmsh option ``Mesh.MeshSizeMax``); ``None`` keeps the model's.
        refine: `Refinement` objects (boundary, h_min, dist_min, dist_max) naming physical
            groups of dimension ``dim - 1``; each adds gmsh Distance + Threshold fields.
        sizes_from_points: use the sizes set at geometry points (a .geo file's) and extend the
            boundary's sizes into the interior (gmsh's default); otherwise the size is ``h``
            and the refinements alone (OpenCASCADE gives points a default size below ``h``,
            and extending a refined boundary's size would refine the whole interior).
        force: mesh even if `estimate_elements` is above `MAX_ELEMENTS` (otherwise `MeshError`
            with the estimate, before meshing). From `LARGE_ELEMENTS` on, the estimate is printed
            and gmsh's progress messages are shown on stderr.
    """
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", int(sizes_from_points))
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", int(sizes_from_points))
    if h is not None:
        gmsh.option.setNumber("Mesh.MeshSizeMax", h)
    if refine:
        if dim < 2:
            raise MeshError("refinement near boundaries needs a 2D or 3D mesh")
        _add_size_fields(gmsh, dim, h, refine)
    estimate = estimate_elements(gmsh, dim, h, refine, sizes_from_points)
    if estimate > MAX_ELEMENTS and not force:
        raise MeshError(f"this would make about {estimate:,.0f} {_ELEMENT_NAME[dim]}, above the limit of "
                        f"{MAX_ELEMENTS:,}; use a larger element size, or force=True (meshsim mesh ... --force) "
                        f"to mesh it anyway")
    if estimate > LARGE_ELEMENTS:
        print(f"meshsim: meshing about {estimate:,.0f} {_ELEMENT_NAME[dim]}; gmsh's progress follows",
              file=sys.stderr, flush=True)
        gmsh.option.setNumber("General.Terminal", 1)
        gmsh.option.setNumber("General.Verbosity", 4)
    gmsh.model.mesh.generate(dim)
    return model_to_mesh(gmsh, dim)


def _element_nodes(gmsh, dim: int, tag: int = -1) -> np.ndarray:
    """(E, dim + 1) gmsh node tags of the simplices of dimension ``dim`` (of entity ``tag``)."""
    _, nodes = gmsh.model.mesh.getElementsByType(_SIMPLEX_TYPE[dim], tag)
    return np.asarray(nodes, dtype=np.int64).reshape(-1, _SIMPLEX_NODES[dim])


def model_to_mesh(gmsh, dim: int) -> Mesh:
    """The meshed model as a `Mesh`: dimension-``dim`` simplices as cells, physical groups of
    dimension ``dim - 1`` as boundaries; nodes renumbered 0..N-1 in gmsh tag order, nodes in
    no cell dropped, cells oriented positively, coordinates beyond ``dim`` dropped when zero.
    """
    other = sorted(set(int(t) for t in gmsh.model.mesh.getElementTypes(dim)) - {_SIMPLEX_TYPE[dim]})
    if other:
        names = [gmsh.model.mesh.getElementProperties(t)[0] for t in other]
        raise MeshError(f"the {dim}D mesh has non-simplex elements {names}; only simplices are supported")
    cell_tags = _element_nodes(gmsh, dim)
    if len(cell_tags) == 0:
        raise MeshError(f"gmsh made no {dim}D elements")
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    node_tags, first = np.unique(np.asarray(node_tags, dtype=np.int64), return_index=True)
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)[first]
    used = np.unique(cell_tags)
    points = coords[np.searchsorted(node_tags, used)]
    if dim < 3 and not points[:, dim:].any():
        points = points[:, :dim]
    cells = orient_cells(points, np.searchsorted(used, cell_tags))
    boundary = {}
    for name, entities in _boundary_entities(gmsh, dim - 1).items():
        facet_tags = np.concatenate([_element_nodes(gmsh, dim - 1, e) for e in entities])
        index = np.searchsorted(used, facet_tags).clip(max=len(used) - 1)
        if not (used[index] == facet_tags).all():
            raise MeshError(f"boundary {name!r} has nodes that belong to no {dim}D cell")
        boundary[name] = index
    return Mesh(points, cells, boundary)
