"""Mesh files through meshio: `read`, `write`, `to_meshio` / `from_meshio`, XDMF time series.

Formats `write` knows (``file_format``, or from the suffix):

- ``.msh``: gmsh 4.1 (``"gmsh"``, the default for .msh) or 2.2 (``"gmsh22"``). Boundaries are
  written the way gmsh writes physical groups: one facet cell block per boundary with
  ``gmsh:physical`` / ``gmsh:geometrical`` cell data and ``field_data {name: [tag, dim]}``
  ($PhysicalNames); the cells form one more (unnamed) physical group. Files open in gmsh.
  Data is stored as gmsh NodeData / ElementData: float64 only (integer fields come back as
  float64), 1, 3 or 9 components, and no cell_data in gmsh 2.2 (meshio 5.3.5 cannot read
  ElementData back from 2.2 files). For 4.1, nodes are assigned to gmsh entities in index
  order, so a file keeps meshsim's node numbering (meshio reorders nodes by entity on
  reading and would misalign NodeData otherwise).
- ``.vtu`` and ``.xdmf`` (+ ``.h5`` next to it): neither keeps meshio's field_data, so each
  boundary ``name`` is written as an int32 cell data array ``"boundary:name"`` that is 1 on
  that boundary's facets (one extra facet cell block) and 0 elsewhere. This survives both
  formats, and ParaView can threshold on it. A facet on two boundaries is written twice.
  In 1D, where facets are nodes (and meshio cannot read XDMF vertex cells back), the arrays
  are point data instead: 1 at that boundary's nodes (read back in node order).

``binary=False`` writes ASCII (.msh, .vtu) or inline XML data (.xdmf). Binary files and
ASCII .msh / XML .xdmf (17 significant digits) give float64 back exactly; ASCII .vtu keeps
12 significant digits (relative error <= 5e-12).

Point and cell data must have shape (N,) or (N, c) with an integer or float dtype; names
starting with ``gmsh:`` or ``boundary:`` are reserved. `read` gives the mesh back with cells
positively oriented (`orient_cells`) and without nodes that no cell uses (e.g. gmsh geometry
points), so a mesh with unused nodes does not round-trip exactly.
"""
from __future__ import annotations

import contextlib
import io
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Mapping

import meshio
import numpy as np

from .errors import MeshError, format_ids
from .geometry import CELL_TYPES, orient_cells
from .mesh import Mesh

#: meshio cell type of the facets of cells of each topological dimension
FACET_TYPES = {1: "vertex", 2: "line", 3: "triangle"}
#: file format by suffix; "gmsh" is gmsh 4.1
FORMATS = {".msh": "gmsh", ".vtu": "vtu", ".xdmf": "xdmf", ".xmf": "xdmf"}
BOUNDARY_PREFIX = "boundary:"
RESERVED_PREFIXES = ("gmsh:", BOUNDARY_PREFIX)


# -- Mesh -> meshio -------------------------------------------------------------------------
def to_meshio(mesh: Mesh, gmsh_tags: bool = True) -> meshio.Mesh:
    """meshio.Mesh with points padded to 3D, the cells as the first block, and the boundaries
    as facet blocks after it.

    With ``gmsh_tags`` the boundaries are gmsh physical groups (one block each, for .msh);
    otherwise one facet block with a 0/1 int32 cell data array ``"boundary:<name>"`` per
    boundary (for .vtu / .xdmf; in 1D point data and no facet block). Mesh cell data gets
    zeros on the facet blocks.
    """
    points = np.zeros((mesh.num_points, 3))
    points[:, :mesh.dim] = mesh.points
    point_data = dict(mesh.point_data)
    if not gmsh_tags and mesh.cell_dim == 1:  # meshio's XDMF reader cannot read vertex cells
        point_data.update({BOUNDARY_PREFIX + name: np.isin(np.arange(mesh.num_points), f).astype(np.int32)
                           for name, f in mesh.boundary.items()})
        return meshio.Mesh(points, [(mesh.cell_type, np.array(mesh.cells))], point_data=point_data,
                           cell_data={key: [value] for key, value in mesh.cell_data.items()})
    names = [name for name, facets in mesh.boundary.items() if len(facets)]
    facets = [np.array(mesh.boundary[name]) for name in names]
    blocks = [np.array(mesh.cells)] + (facets if gmsh_tags else [np.concatenate(facets)] if facets else [])
    cells = [(mesh.cell_type, blocks[0])] + [(FACET_TYPES[mesh.cell_dim], f) for f in blocks[1:]]
    cell_data = {key: [value] + [np.zeros((len(f),) + value.shape[1:], value.dtype) for f in blocks[1:]]
                 for key, value in mesh.cell_data.items()}
    field_data = {}
    if gmsh_tags:
        # boundary i is physical group i + 1, the cells group B + 1; block j is entity j (cells: 1)
        physical = {name: i + 1 for i, name in enumerate(mesh.boundary)}
        physical_tags = [len(mesh.boundary) + 1] + [physical[name] for name in names]
        entity_tags = [1] + list(range(1, len(names) + 1))
        cell_data["gmsh:physical"] = [np.full(len(b), t) for b, t in zip(blocks, physical_tags)]
        cell_data["gmsh:geometrical"] = [np.full(len(b), t) for b, t in zip(blocks, entity_tags)]
        field_data = {name: np.array([tag, mesh.cell_dim - 1]) for name, tag in physical.items()}
        if mesh.num_points > len(names):  # gmsh 2.2 does without; `write` checks it for 4.1
            point_data["gmsh:dim_tags"] = _node_entities(mesh, len(names))
    else:
        for name in mesh.boundary:
            cell_data[BOUNDARY_PREFIX + name] = [np.zeros(mesh.num_cells, np.int32)] + [
                np.concatenate([np.full(len(f), n == name, np.int32) for n, f in zip(names, facets)])
            ] * (len(blocks) - 1)
    return meshio.Mesh(points, cells, point_data=point_data, cell_data=cell_data, field_data=field_data)


def _node_entities(mesh: Mesh, num_boundaries: int) -> np.ndarray:
    """(N, 2) gmsh (entity dim, entity tag) per node, non-decreasing in node index so that
    gmsh 4.1 keeps the node order; nodes 0..B-1 stand in for the B boundary entities (N > B)."""
    dim_tags = np.tile([mesh.cell_dim, 1], (mesh.num_points, 1))
    dim_tags[:num_boundaries] = np.c_[np.full(num_boundaries, mesh.cell_dim - 1), np.arange(1, num_boundaries + 1)]
    return dim_tags


# -- meshio -> Mesh -------------------------------------------------------------------------
def from_meshio(meshio_mesh: meshio.Mesh, source: str = "<memory>") -> Mesh:
    """`Mesh` from the top-dimension simplex blocks (line / triangle / tetra, several blocks of
    one type concatenated) of a meshio.Mesh.

    Boundaries come from ``"boundary:<name>"`` cell data or gmsh physical groups on facet
    blocks (unnamed groups are named by their tag). z (and y) are dropped when zero for all
    points; unused nodes are dropped; cells are oriented positively. ``source`` names the
    mesh in errors.
    """
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
    used = np.unique(cells)
    renumber = np.full(len(meshio_mesh.points), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    boundary = {}
    for name, facets in _boundaries(meshio_mesh, top).items():
        facets = renumber[facets]
        bad = np.flatnonzero((facets < 0).any(axis=1))
        if len(bad):
            raise MeshError(f"{source}: boundary {name!r} has facets {format_ids(bad)} with nodes in no {cell_type}")
        boundary[name] = facets
    points = np.asarray(meshio_mesh.points, dtype=np.float64)[used]
    points = points[:, :_space_dim(points, top)]
    cells = renumber[cells]
    point_data = {k: np.asarray(v)[used] for k, v in meshio_mesh.point_data.items() if not _reserved(k)}
    cell_data = {k: np.concatenate([np.asarray(v[i]) for i in main])
                 for k, v in meshio_mesh.cell_data.items() if not _reserved(k)}
    try:
        return Mesh(points, orient_cells(points, cells), boundary, point_data, cell_data)
    except MeshError as err:
        raise MeshError(f"{source}: {err}") from err


def _reserved(name: str) -> bool:
    return name.startswith(RESERVED_PREFIXES)


def _space_dim(points: np.ndarray, cell_dim: int) -> int:
    """Smallest dim >= cell_dim such that all coordinates beyond it are zero."""
    nonzero = np.flatnonzero((points != 0).any(axis=0))
    return max(cell_dim, int(nonzero[-1]) + 1 if len(nonzero) else 1)


def _boundaries(meshio_mesh: meshio.Mesh, top: int) -> dict[str, np.ndarray]:
    """name -> (F, top) facets, in the file's node numbering."""
    blocks = meshio_mesh.cells
    data = meshio_mesh.cell_data
    facet_ids = [i for i, b in enumerate(blocks) if b.type == FACET_TYPES[top]]
    facets = np.concatenate([blocks[i].data for i in facet_ids] + [np.zeros((0, top), np.int64)]).astype(np.int64)

    def gather(per_block, dtype=np.int64) -> np.ndarray:  # concatenate over the facet blocks
        parts = [np.asarray(per_block[i]).ravel() for i in facet_ids]
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    point_indicators = [key for key in meshio_mesh.point_data if key.startswith(BOUNDARY_PREFIX)]
    if top == 1 and point_indicators:
        return {key[len(BOUNDARY_PREFIX):]: np.flatnonzero(meshio_mesh.point_data[key])[:, None]
                for key in point_indicators}
    indicators = [key for key in data if key.startswith(BOUNDARY_PREFIX)]
    if indicators:
        return {key[len(BOUNDARY_PREFIX):]: facets[gather(data[key]) != 0] for key in indicators}
    names = {int(value[0]): name for name, value in meshio_mesh.field_data.items()
             if len(value) == 2 and int(value[1]) == top - 1}
    boundary = {name: facets[:0] for name in names.values()}
    physical = data.get("gmsh:physical")
    if physical is not None and len(physical) == len(blocks):
        tags = gather(physical)
        boundary.update({names.get(int(t), str(t)): facets[tags == t] for t in np.unique(tags[tags > 0])})
    # gmsh 4.1: an entity may be in several physical groups; meshio lists each in cell_sets
    for name in names.values():
        sets = meshio_mesh.cell_sets.get(name)
        if sets is not None and len(sets) == len(blocks):
            boundary[name] = facets[gather([np.isin(np.arange(len(b)), s) for b, s in zip(blocks, sets)], bool)]
    return boundary


# -- files ----------------------------------------------------------------------------------
def read(path) -> Mesh:
    """`Mesh` from any file meshio reads (see `from_meshio` for what is kept).

    Cells are oriented positively and nodes used by no cell are dropped (cells renumbered).
    Raises `MeshError` naming the file if it is missing, unreadable or has no simplex cells.
    """
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: no such file")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # meshio's gmsh reader prints blank lines
            meshio_mesh = meshio.read(path)
    # meshio's readers raise many types (ValueError, KeyError, ParseError, ...), and meshio.read
    # calls sys.exit(1) when no reader for the suffix can parse the file
    except (Exception, SystemExit) as err:
        raise MeshError(f"{path}: meshio cannot read it ({type(err).__name__}: {err})") from err
    return from_meshio(meshio_mesh, source=str(path))


def write(mesh: Mesh, path, file_format: str | None = None, binary: bool = True) -> None:
    """Write ``mesh`` with its boundaries, point_data and cell_data (see the module docstring).

    ``file_format``: ``"gmsh"`` (msh 4.1), ``"gmsh22"``, ``"vtu"`` or ``"xdmf"``; by default
    from the suffix (.msh -> gmsh 4.1). Raises `MeshError` for other formats, data a format
    cannot hold, or a file that cannot be written.
    """
    path = Path(path)
    file_format = file_format or FORMATS.get(path.suffix.lower())
    if file_format not in ("gmsh", "gmsh22", "vtu", "xdmf"):
        raise MeshError(f"{path}: cannot write format {file_format!r}; use .msh (gmsh, gmsh22), .vtu or .xdmf")
    _check_data(mesh, file_format, path)
    gmsh = file_format.startswith("gmsh")
    meshio_mesh = to_meshio(mesh, gmsh_tags=gmsh)
    if file_format == "gmsh" and "gmsh:dim_tags" not in meshio_mesh.point_data:
        raise MeshError(f"{path}: gmsh 4.1 needs more nodes ({mesh.num_points}) than non-empty boundaries "
                        f"({len(meshio_mesh.cells) - 1}); write gmsh 2.2 (file_format='gmsh22') instead")
    if gmsh and not binary:  # meshio formats ASCII data with repr(): Python floats print plainly
        for data in (meshio_mesh.point_data, meshio_mesh.cell_data):
            for key, value in data.items():
                if not key.startswith("gmsh:"):
                    data[key] = [v.astype(object) for v in value] if isinstance(value, list) else value.astype(object)
    options = {"data_format": "HDF" if binary else "XML"} if file_format == "xdmf" else {"binary": binary}
    try:
        meshio.write(path, meshio_mesh, file_format=file_format, **options)
    except (meshio.WriteError, OSError, ValueError, KeyError) as err:
        raise MeshError(f"{path}: meshio cannot write it as {file_format} ({type(err).__name__}: {err})") from err


def _check_data(mesh: Mesh, file_format: str, path: Path) -> None:
    for kind, data in (("point_data", mesh.point_data), ("cell_data", mesh.cell_data)):
        for name, value in data.items():
            where = f"{path}: {kind} {name!r}"
            if _reserved(name):
                raise MeshError(f"{where}: names starting with {RESERVED_PREFIXES} are reserved")
            if value.ndim > 2 or value.dtype.kind not in "iuf":
                raise MeshError(f"{where} has shape {value.shape} and dtype {value.dtype}; files hold "
                                "(n,) or (n, c) integer or float arrays")
            if file_format.startswith("gmsh") and (value.shape + (1,))[1] not in (1, 3, 9):
                raise MeshError(f"{where} has {value.shape[1]} components; gmsh holds 1, 3 or 9 (use .vtu or .xdmf)")
    if file_format == "gmsh22" and mesh.cell_data:
        raise MeshError(f"{path}: meshio 5.3.5 cannot read cell_data back from gmsh 2.2 files; "
                        "write gmsh 4.1 (file_format='gmsh'), .vtu or .xdmf")


# -- XDMF time series -----------------------------------------------------------------------
@contextmanager
def _working_directory(path: Path):
    """Run the block in ``path`` (process-wide: not for use from several threads at once)."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def write_xdmf_series(path, mesh: Mesh, times, point_fields: Mapping[str, np.ndarray]) -> None:
    """Write point fields over time as an XDMF time series (``path`` .xdmf, its .h5 beside it).

    Args:
        path: the .xdmf file; the data goes to ``path.with_suffix(".h5")``.
        mesh: the (fixed) mesh; its points and cells are written once, its boundaries and
            own data are not (`write` the mesh for those).
        times: (T,) time of each step.
        point_fields: name -> (T, N) or (T, N, c) values at the nodes.
    """
    path = Path(path).resolve()
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or not np.isfinite(times).all():
        raise MeshError(f"{path}: times must be a finite (T,) array, got shape {times.shape}")
    fields = {name: np.asarray(value) for name, value in point_fields.items()}
    for name, value in fields.items():
        if value.ndim not in (2, 3) or value.shape[:2] != (len(times), mesh.num_points):
            raise MeshError(f"{path}: point field {name!r} has shape {value.shape}; expected "
                            f"({len(times)}, {mesh.num_points}) or ({len(times)}, {mesh.num_points}, c)")
    points = np.zeros((mesh.num_points, 3))
    points[:, :mesh.dim] = mesh.points
    # meshio's TimeSeriesWriter puts the .h5 in the working directory, so write from path's folder
    with _working_directory(path.parent), meshio.xdmf.TimeSeriesWriter(path.name) as writer:
        writer.write_points_cells(points, [(mesh.cell_type, np.array(mesh.cells))])
        for step, time in enumerate(times):
            writer.write_data(time, point_data={name: value[step] for name, value in fields.items()})


def read_xdmf_series(path) -> tuple[Mesh, np.ndarray, dict[str, np.ndarray]]:
    """(mesh, times (T,), name -> (T, N) or (T, N, c) point fields) from `write_xdmf_series`'s file."""
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: no such file")
    with meshio.xdmf.TimeSeriesReader(path) as reader:
        points, cells = reader.read_points_cells()
        steps = [reader.read_data(step) for step in range(reader.num_steps)]
    mesh = from_meshio(meshio.Mesh(points, cells), source=str(path))
    used = np.unique(np.concatenate([block.data.ravel() for block in cells]))
    times = np.array([time for time, _, _ in steps], dtype=np.float64)
    names = steps[0][1] if steps else {}
    fields = {name: np.stack([point_data[name] for _, point_data, _ in steps])[:, used] for name in names}
    return mesh, times, fields
