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
starting with ``gmsh:`` or ``boundary:`` are reserved. `read` (`meshsim.mesh.reading`) gives
the mesh back with cells positively oriented and without nodes that no cell uses (e.g. gmsh
geometry points), so a mesh with unused nodes does not round-trip exactly; it refuses folded and
duplicate cells unless asked to repair them. A single state goes to plain XDMF with `write`,
which `read`, meshio and ParaView open; fields over time go to an XDMF time series with
`write_xdmf_series` (`meshsim.mesh.series`), which `read` (one step) and `read_xdmf_series`
(all steps) open.
"""
from __future__ import annotations

from pathlib import Path

import meshio
import numpy as np

from .errors import MeshError
from .mesh import Mesh
from .reading import (BOUNDARY_PREFIX, FACET_TYPES, RESERVED_PREFIXES, FileReport, MeshRepairWarning,
                      _reserved, from_meshio, read, read_with_report, read_xdmf_series)
from .series import write_xdmf_series

__all__ = ["FileReport", "MeshRepairWarning", "from_meshio", "read", "read_with_report", "read_xdmf_series",
           "to_meshio", "write", "write_xdmf_series"]

#: file format by suffix; "gmsh" is gmsh 4.1
FORMATS = {".msh": "gmsh", ".vtu": "vtu", ".xdmf": "xdmf", ".xmf": "xdmf"}


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


# -- files ----------------------------------------------------------------------------------
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
