"""Reading mesh files: `read`, `from_meshio`, `read_xdmf_series`, and what a file holds
(`read_with_report`), re-exported by `meshsim.mesh.io`.

What is kept: the top-dimension simplex blocks (line / triangle / tetra, several blocks of one
type concatenated), point and cell data, and boundaries from, in this order of preference:
``"boundary:<name>"`` arrays (meshsim's .vtu / .xdmf), gmsh physical groups (named by
$PhysicalNames, an unnamed group by its tag), SU2 markers (named by MARKER_TAG) or medit
references (named by their number). Boundary facets that carry none of these are dropped with a
warning. z (and y) are dropped when zero for all points; nodes used by no cell are dropped.

Checks: node indices out of range raise `MeshError` naming the cells. Cells ordered clockwise
(a convention of some writers) are reversed silently. Folded cells (inverted relative to their
neighbours, `meshsim.mesh.cell_checks`) and duplicate cells raise `MeshError` naming them,
unless ``repair=True``, which reverses the folded cells and drops the duplicates with a
`MeshRepairWarning` saying so. Cell ids in messages count the file's cells of the mesh's type
from 0, blocks in file order.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import meshio
import numpy as np

from .cell_checks import duplicate_cells, orientation
from .errors import MeshError, format_ids
from .geometry import CELL_TYPES
from .mesh import Mesh
from .series import is_xdmf_series, quiet_meshio, read_series

#: meshio cell type of the facets of cells of each topological dimension
FACET_TYPES = {1: "vertex", 2: "line", 3: "triangle"}
BOUNDARY_PREFIX = "boundary:"
RESERVED_PREFIXES = ("gmsh:", BOUNDARY_PREFIX)
#: integer boundary tags of other formats, by meshio's cell data name
TAG_DATA = ("su2:tag", "medit:ref")


class MeshRepairWarning(UserWarning):
    """`read(..., repair=True)` changed the mesh of a file (folded cells reversed, duplicate
    cells dropped); the message names the cells."""


@dataclass(frozen=True)
class FileReport:
    """What reading a file found: cells reversed because the file orders them clockwise
    (``reordered``), ``folded`` and ``duplicate`` cell ids (file numbering), nodes used by no cell,
    boundary facets that carry no name, and for a time series its ``times`` and the ``step`` read."""

    reordered: int = 0
    folded: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    duplicate: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    unused_nodes: int = 0
    unnamed_facets: int = 0
    times: np.ndarray | None = None
    step: int | None = None


def _reserved(name: str) -> bool:
    return name.startswith(RESERVED_PREFIXES)


def _space_dim(points: np.ndarray, cell_dim: int) -> int:
    """Smallest dim >= cell_dim such that all coordinates beyond it are zero."""
    nonzero = np.flatnonzero((points != 0).any(axis=0))
    return max(cell_dim, int(nonzero[-1]) + 1 if len(nonzero) else 1)


def from_meshio(meshio_mesh: meshio.Mesh, source: str = "<memory>", repair: bool = False,
                tag_names: Mapping[int, str] | None = None) -> Mesh:
    """`Mesh` of a meshio.Mesh (see the module docstring for what is kept and checked).
    ``source`` names the mesh in errors; ``tag_names`` names integer boundary tags."""
    return _convert(meshio_mesh, source, repair, tag_names)[0]


def _cells(meshio_mesh: meshio.Mesh, source: str) -> tuple[int, list[int], np.ndarray]:
    """(topological dimension, indices of the cell blocks, (M, k) cells in file numbering)."""
    blocks = meshio_mesh.cells
    top = max((b.dim for b in blocks), default=0)
    if top == 0:
        raise MeshError(f"{source}: no line, triangle or tetra cells (found {sorted({b.type for b in blocks})})")
    cell_type = CELL_TYPES[top + 1]
    others = sorted({b.type for b in blocks if b.dim == top and b.type != cell_type})
    if others:
        raise MeshError(f"{source}: has {others} cells of dimension {top}; meshsim holds linear simplices "
                        f"only ({cell_type} in {top}D)")
    main = [i for i, b in enumerate(blocks) if b.type == cell_type]
    cells = np.concatenate([blocks[i].data for i in main]).astype(np.int64)
    bad = np.flatnonzero(((cells < 0) | (cells >= len(meshio_mesh.points))).any(axis=1))
    if len(bad):
        raise MeshError(f"{source}: {cell_type} cells {format_ids(bad)} have node indices out of range "
                        f"[0, {len(meshio_mesh.points)})")
    return top, main, cells


def _convert(meshio_mesh: meshio.Mesh, source: str, repair: bool,
             tag_names: Mapping[int, str] | None = None) -> tuple[Mesh, FileReport]:
    top, main, cells = _cells(meshio_mesh, source)
    duplicate = duplicate_cells(cells)
    keep = np.setdiff1d(np.arange(len(cells)), duplicate)
    used = np.unique(cells)
    renumber = np.full(len(meshio_mesh.points), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    boundary, unnamed = {}, _boundaries(meshio_mesh, top, tag_names or {})
    for name, facets in unnamed[0].items():
        facets = renumber[facets]
        bad = np.flatnonzero((facets < 0).any(axis=1))
        if len(bad):
            raise MeshError(f"{source}: boundary {name!r} has facets {format_ids(bad)} with nodes in no "
                            f"{CELL_TYPES[top + 1]}")
        boundary[name] = facets
    points = np.asarray(meshio_mesh.points, dtype=np.float64)[used]
    points = points[:, :_space_dim(points, top)]
    oriented = orientation(points, renumber[cells[keep]])
    folded = keep[oriented.folded_ids]
    reordered = len(np.setdiff1d(oriented.reversed_ids, oriented.folded_ids))
    report = FileReport(reordered=reordered, folded=folded, duplicate=duplicate,
                        unused_nodes=len(meshio_mesh.points) - len(used), unnamed_facets=unnamed[1])
    problems = _problems(report, CELL_TYPES[top + 1])
    if problems and not repair:
        raise MeshError(f"{source}: {'; '.join(problems)}; read(path, repair=True) reverses folded cells "
                        f"and drops duplicates")
    if problems:
        warnings.warn(f"{source}: {'; '.join(problems)}: " + ", ".join(
            what for what, ids in (("folded cells reversed", folded), ("duplicates dropped", duplicate)) if len(ids)),
            MeshRepairWarning, stacklevel=3)
    if report.unnamed_facets:
        warnings.warn(f"{source}: {report.unnamed_facets} boundary facets carry no boundary name meshsim reads "
                      f"(dropped)", stacklevel=3)
    point_data = {k: np.asarray(v)[used] for k, v in meshio_mesh.point_data.items() if not _reserved(k)}
    cell_data = {k: np.concatenate([np.asarray(v[i]) for i in main])[keep]
                 for k, v in meshio_mesh.cell_data.items() if not _reserved(k)}
    try:
        return Mesh(points, oriented.cells, boundary, point_data, cell_data), report
    except MeshError as err:
        raise MeshError(f"{source}: {err}") from err


def _problems(report: FileReport, cell_type: str) -> list[str]:
    problems = []
    if len(report.folded):
        problems.append(f"folded (inverted) {cell_type} cells {format_ids(report.folded)}")
    if len(report.duplicate):
        problems.append(f"duplicate {cell_type} cells {format_ids(report.duplicate)}")
    return problems


def _boundaries(meshio_mesh: meshio.Mesh, top: int, tag_names: Mapping[int, str]) -> tuple[dict, int]:
    """(name -> (F, top) facets in the file's node numbering, number of facets in none)."""
    blocks = meshio_mesh.cells
    data = meshio_mesh.cell_data
    facet_ids = [i for i, b in enumerate(blocks) if b.type == FACET_TYPES[top]]
    facets = np.concatenate([blocks[i].data for i in facet_ids] + [np.zeros((0, top), np.int64)]).astype(np.int64)

    def gather(per_block, dtype=np.int64) -> np.ndarray:  # concatenate over the facet blocks
        parts = [np.asarray(per_block[i]).ravel() for i in facet_ids]
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    def named(boundary: dict, tags: np.ndarray | None = None) -> tuple[dict, int]:
        return boundary, int((tags == 0).sum()) if tags is not None else 0

    point_indicators = [key for key in meshio_mesh.point_data if key.startswith(BOUNDARY_PREFIX)]
    if top == 1 and point_indicators:
        return named({key[len(BOUNDARY_PREFIX):]: np.flatnonzero(meshio_mesh.point_data[key])[:, None]
                      for key in point_indicators})
    indicators = [key for key in data if key.startswith(BOUNDARY_PREFIX)]
    if indicators:
        on_any = np.zeros(len(facets), bool)
        boundary = {}
        for key in indicators:
            marked = gather(data[key]) != 0
            boundary[key[len(BOUNDARY_PREFIX):]] = facets[marked]
            on_any |= marked
        return boundary, int((~on_any).sum())
    names = {int(value[0]): name for name, value in meshio_mesh.field_data.items()
             if len(value) == 2 and int(value[1]) == top - 1}
    physical = data.get("gmsh:physical")
    if physical is None or len(physical) != len(blocks):
        key = next((k for k in TAG_DATA if k in data and len(data[k]) == len(blocks)), None)
        if key is None:
            return named({}, np.zeros(len(facets)))
        tags = gather(data[key])
        return named({tag_names.get(int(t), str(int(t))): facets[tags == t] for t in np.unique(tags)})
    boundary = {name: facets[:0] for name in names.values()}
    tags = gather(physical)
    boundary.update({names.get(int(t), str(t)): facets[tags == t] for t in np.unique(tags[tags > 0])})
    # gmsh 4.1: an entity may be in several physical groups; meshio lists each in cell_sets
    for name in names.values():
        sets = meshio_mesh.cell_sets.get(name)
        if sets is not None and len(sets) == len(blocks):
            boundary[name] = facets[gather([np.isin(np.arange(len(b)), s) for b, s in zip(blocks, sets)], bool)]
    return named(boundary, tags)


def _su2_marker_names(path: Path) -> dict[int, str]:
    """SU2 MARKER_TAG names by the integer tag meshio gives them (the number for numeric tags,
    else one more than the previous tag)."""
    names, tag = {}, 0
    with open(path, errors="replace") as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "MARKER_TAG":
                value = value.strip()
                tag = int(value) if value.lstrip("-").isdigit() else tag + 1
                names[tag] = value
    return names


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise MeshError(f"{path}: is a directory, not a mesh file")
    if not path.exists():
        raise MeshError(f"{path}: no such file")
    if path.suffix.lower() == ".geo":
        raise MeshError(f"{path}: is a gmsh script, not a mesh: mesh it with `meshsim mesh from_geo {path}` "
                        f"(meshsim.mesh.from_geo)")


def read_with_report(path, repair: bool = False, step: int = -1) -> tuple[Mesh, FileReport]:
    """`read`, with what the file held (`FileReport`)."""
    path = Path(path)
    _check_path(path)
    if is_xdmf_series(path):
        points, cells, times, steps = read_series(path)
        if not -len(steps) <= step < len(steps):
            raise MeshError(f"{path}: no time step {step}; the series has {len(steps)}")
        point_data, cell_data = steps[step]
        mesh, report = _convert(meshio.Mesh(points, cells, point_data=point_data, cell_data=cell_data),
                                str(path), repair)
        return mesh, dataclasses.replace(report, times=times, step=step % len(steps))
    try:
        with quiet_meshio() as said:
            meshio_mesh = meshio.read(path)
    # meshio's readers raise many types (ValueError, KeyError, ParseError, ...), and meshio.read
    # calls sys.exit(1) when no reader for the suffix can parse the file
    except (Exception, SystemExit) as err:
        said = " ".join(said.getvalue().replace("Error:", "").split())  # why, when meshio gave up with exit(1)
        reason = (said or "no reader for this suffix could parse it") if isinstance(err, SystemExit) else \
            f"{type(err).__name__}: {err}"
        raise MeshError(f"{path}: meshio cannot read it ({reason})") from None
    names = _su2_marker_names(path) if path.suffix.lower() == ".su2" else {}
    return _convert(meshio_mesh, str(path), repair, names)


def read(path, repair: bool = False, step: int = -1) -> Mesh:
    """`Mesh` of any file meshio reads, and of XDMF time series (see the module docstring).

    Args:
        path: the file.
        repair: reverse folded cells and drop duplicate cells (with a `MeshRepairWarning`)
            instead of raising `MeshError`.
        step: for an XDMF time series, the time step whose fields become the mesh's data
            (default the last; `read_xdmf_series` reads them all).

    Raises `MeshError` naming the file if it is missing, a folder, unreadable, or holds no
    simplex cells or a bad mesh.
    """
    return read_with_report(path, repair, step)[0]


def read_xdmf_series(path) -> tuple[Mesh, np.ndarray, dict[str, np.ndarray]]:
    """(mesh, times (T,), name -> (T, N) or (T, N, c) point fields) of an XDMF time series
    (`meshsim.mesh.write_xdmf_series`)."""
    path = Path(path)
    _check_path(path)
    points, cells, times, steps = read_series(path)
    mesh = from_meshio(meshio.Mesh(points, cells), source=str(path))
    used = np.unique(np.concatenate([block.data.ravel() for block in cells]))
    names = steps[0][0] if steps else {}
    fields = {name: np.stack([point_data[name] for point_data, _ in steps])[:, used] for name in names}
    return mesh, times, fields
