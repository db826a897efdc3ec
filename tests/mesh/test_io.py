import json
import re
import subprocess
import sys
import textwrap

import meshio
import numpy as np
import pytest
import skfem

import meshsim
import meshsim.mesh.geometry
from meshsim.cli import main
from meshsim.mesh import Mesh, MeshError, from_meshio, read, read_xdmf_series, to_meshio, write, write_xdmf_series

FORMATS = [("gmsh", ".msh"), ("gmsh22", ".msh"), ("vtu", ".vtu"), ("xdmf", ".xdmf")]


def _jittered(mesh: Mesh, seed: int = 0) -> Mesh:
    """Move interior nodes by up to 10% of the spacing so coordinates are not short binary fractions."""
    rng = np.random.default_rng(seed)
    interior = np.setdiff1d(np.arange(mesh.num_points), mesh.boundary_nodes())
    spacing = mesh.cell_measures.min() ** (1 / mesh.cell_dim)
    points = np.array(mesh.points)
    points[interior] += 0.1 * spacing * rng.uniform(-1, 1, (len(interior), mesh.dim))
    return mesh.with_points(points)


def _with_data(mesh: Mesh, seed: int = 1, cell_data: bool = True) -> Mesh:
    rng = np.random.default_rng(seed)
    n, m = mesh.num_points, mesh.num_cells
    return Mesh(mesh.points, mesh.cells, mesh.boundary,
                {"u": rng.standard_normal(n), "velocity": rng.standard_normal((n, 3)), "node_id": np.arange(n)},
                {"pressure": rng.standard_normal(m), "region": rng.integers(0, 5, m)} if cell_data else {})


def _line_mesh() -> Mesh:
    sk = skfem.MeshLine1().refined(4).with_boundaries({"left": lambda x: x[0] == 0, "right": lambda x: x[0] == 1})
    return Mesh.from_skfem(sk)


MESHES = {
    "line": _line_mesh,
    "triangle": lambda: Mesh.from_skfem(skfem.MeshTri1().refined(2).with_defaults()),
    "tetra": lambda: Mesh.from_skfem(skfem.MeshTet1().refined(1).with_defaults()),
}


def _sorted_rows(facets) -> np.ndarray:
    rows = np.sort(np.asarray(facets), axis=1)
    return rows[np.lexsort(rows.T[::-1])] if len(rows) else rows


def assert_same_boundaries(a: Mesh, b: Mesh) -> None:
    assert set(a.boundary) == set(b.boundary)
    for name in a.boundary:
        np.testing.assert_array_equal(_sorted_rows(a.boundary[name]), _sorted_rows(b.boundary[name]), err_msg=name)


@pytest.mark.parametrize("kind", MESHES)
@pytest.mark.parametrize("binary", [True, False], ids=["binary", "ascii"])
@pytest.mark.parametrize("file_format,suffix", FORMATS)
def test_round_trip_keeps_points_cells_boundaries_and_data(tmp_path, kind, binary, file_format, suffix):
    mesh = _with_data(_jittered(MESHES[kind]()), cell_data=file_format != "gmsh22")
    path = tmp_path / f"mesh{suffix}"
    write(mesh, path, file_format=file_format, binary=binary)
    back = read(path)
    assert back.dim == mesh.dim and back.cell_type == mesh.cell_type
    # ASCII .vtu stores 12 significant digits; everything else keeps float64 exactly
    exact = binary or file_format != "vtu"
    check = np.testing.assert_array_equal if exact else (lambda a, b: np.testing.assert_allclose(a, b, rtol=5e-12))
    check(back.points, mesh.points)
    np.testing.assert_array_equal(back.cells, mesh.cells)
    assert_same_boundaries(back, mesh)
    assert set(back.point_data) == set(mesh.point_data) and set(back.cell_data) == set(mesh.cell_data)
    for name in mesh.point_data:
        check(back.point_data[name], mesh.point_data[name])
    for name in mesh.cell_data:
        check(back.cell_data[name], mesh.cell_data[name])


@pytest.mark.parametrize("file_format,suffix", [("vtu", ".vtu"), ("xdmf", ".xdmf")])
def test_vtu_and_xdmf_keep_data_dtypes(tmp_path, file_format, suffix):
    mesh = _with_data(MESHES["triangle"]())
    write(mesh, tmp_path / f"m{suffix}")
    back = read(tmp_path / f"m{suffix}")
    assert back.point_data["node_id"].dtype == np.int64
    assert back.cell_data["region"].dtype == np.int64
    assert back.cell_data["pressure"].dtype == np.float64


def test_xdmf_writes_h5_beside_it_and_boundary_arrays_are_cell_data(tmp_path):
    mesh = MESHES["triangle"]()
    write(mesh, tmp_path / "m.xdmf")
    assert (tmp_path / "m.h5").is_file()
    raw = meshio.read(tmp_path / "m.xdmf")
    assert [block.type for block in raw.cells] == ["triangle", "line"]
    left = raw.cell_data["boundary:left"]
    assert left[0].sum() == 0 and left[1].sum() == len(mesh.boundary["left"])


@pytest.mark.parametrize("file_format,suffix", FORMATS)
def test_empty_and_overlapping_boundaries_survive(tmp_path, file_format, suffix):
    base = MESHES["triangle"]()
    boundary = {**base.boundary, "all": base.boundary_facets, "nothing": np.zeros((0, 2), int)}
    mesh = Mesh(base.points, base.cells, boundary)
    write(mesh, tmp_path / f"m{suffix}", file_format=file_format)
    back = read(tmp_path / f"m{suffix}")
    assert_same_boundaries(back, mesh)
    assert back.boundary["nothing"].shape == (0, 2)


def test_msh_has_gmsh_physical_groups(tmp_path):
    mesh = MESHES["triangle"]()
    write(mesh, tmp_path / "m.msh")
    raw = meshio.read(tmp_path / "m.msh")
    assert {name: value.tolist() for name, value in raw.field_data.items()} == {
        name: [i + 1, 1] for i, name in enumerate(mesh.boundary)}
    for i, name in enumerate(mesh.boundary):
        block = i + 1  # block 0 holds the triangles
        assert raw.cells[block].type == "line"
        np.testing.assert_array_equal(raw.cells[block].data, mesh.boundary[name])
        assert set(raw.cell_data["gmsh:physical"][block]) == {i + 1}


GMSH_OPEN = textwrap.dedent("""
    import json, sys, gmsh
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.open(sys.argv[1])
    groups = {gmsh.model.getPhysicalName(d, t): [d, len(gmsh.model.mesh.getNodesForPhysicalGroup(d, t)[0])]
              for d, t in gmsh.model.getPhysicalGroups()}
    if len(sys.argv) > 2:
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.option.setNumber("Mesh.Binary", 1)
        gmsh.write(sys.argv[2])
    gmsh.finalize()
    print(json.dumps(groups))
""")


def _gmsh(*args) -> dict:
    """Run gmsh in a child process (this process may hold meshsim's own gmsh session)."""
    done = subprocess.run([sys.executable, "-c", GMSH_OPEN, *map(str, args)], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", MESHES)
@pytest.mark.parametrize("file_format", ["gmsh", "gmsh22"])
def test_gmsh_opens_written_msh_with_named_groups(tmp_path, kind, file_format):
    mesh = MESHES[kind]()
    write(mesh, tmp_path / "m.msh", file_format=file_format)
    groups = _gmsh(tmp_path / "m.msh")
    expected = {name: [mesh.cell_dim - 1, len(mesh.boundary_nodes(name))] for name in mesh.boundary}
    assert groups == {**expected, "": [mesh.cell_dim, mesh.num_points]}


GMSH_RECTANGLE = textwrap.dedent("""
    import sys, gmsh
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    occ = gmsh.model.occ
    occ.addRectangle(0, 0, 0, 2, 1)
    free = occ.addPoint(5, 5, 0)  # a geometry point outside the surface
    occ.synchronize()
    boxes = {"left": (-.1, -.1, .1, 1.1), "right": (1.9, -.1, 2.1, 1.1),
             "bottom": (-.1, -.1, 2.1, .1), "top": (-.1, .9, 2.1, 1.1)}
    for name, (x0, y0, x1, y1) in boxes.items():
        curves = [t for _, t in gmsh.model.getEntitiesInBoundingBox(x0, y0, -1, x1, y1, 1, 1)]
        gmsh.model.addPhysicalGroup(1, curves, name=name)
    gmsh.model.addPhysicalGroup(2, [1], name="domain")
    gmsh.model.addPhysicalGroup(0, [free], name="far")
    gmsh.option.setNumber("Mesh.MeshSizeMax", 0.25)
    gmsh.model.mesh.generate(2)
    gmsh.option.setNumber("Mesh.MshFileVersion", float(sys.argv[2]))
    gmsh.write(sys.argv[1])
    gmsh.finalize()
""")


@pytest.mark.parametrize("version", ["2.2", "4.1"])
def test_reads_gmsh_written_msh(tmp_path, version):
    path = tmp_path / "rect.msh"
    subprocess.run([sys.executable, "-c", GMSH_RECTANGLE, str(path), version], check=True, timeout=60)
    mesh = read(path)
    assert mesh.dim == 2 and mesh.cell_type == "triangle"
    assert set(mesh.boundary) == {"left", "right", "bottom", "top"}  # the domain and point groups are not facets
    assert len(meshio.read(path).points) == mesh.num_points + 1  # the far point's node is dropped
    assert mesh.cell_measures.sum() == pytest.approx(2.0, rel=1e-12)
    lengths = {name: np.linalg.norm(np.diff(mesh.points[f], axis=1), axis=-1).sum() for name, f in mesh.boundary.items()}
    assert lengths == pytest.approx({"left": 1.0, "right": 1.0, "bottom": 2.0, "top": 2.0}, rel=1e-12)
    named = np.concatenate(list(mesh.boundary.values()))
    np.testing.assert_array_equal(_sorted_rows(named), _sorted_rows(mesh.boundary_facets))


def test_generator_mesh_survives_gmsh_rewrite(tmp_path):
    generators = pytest.importorskip("meshsim.mesh.generators")
    mesh = generators.channel_with_cylinder(h=0.1)
    write(mesh, tmp_path / "ours.msh")
    _gmsh(tmp_path / "ours.msh", tmp_path / "gmsh.msh")
    back = read(tmp_path / "gmsh.msh")
    np.testing.assert_array_equal(back.points, mesh.points)
    np.testing.assert_array_equal(back.cells, mesh.cells)
    assert_same_boundaries(back, mesh)


def test_from_meshio_drops_unused_nodes_orients_cells_and_drops_z():
    points = np.array([[9.0, 9.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [7.0, 7.0, 0.0], [0.0, 1.0, 0.0],
                       [1.0, 1.0, 0.0]])
    triangles = np.array([[1, 4, 2], [2, 5, 4]])  # the first is clockwise
    raw = meshio.Mesh(points, [("vertex", [[0]]), ("triangle", triangles), ("line", [[1, 2], [5, 4]])],
                      point_data={"x": points[:, 0]},
                      cell_data={"boundary:bottom": [[0], [0, 0], [1, 0]], "boundary:top": [[0], [0, 0], [0, 1]]})
    mesh = from_meshio(raw)
    np.testing.assert_array_equal(mesh.points, [[0, 0], [1, 0], [0, 1], [1, 1]])  # nodes 0 and 3 dropped
    np.testing.assert_array_equal(mesh.cells, [[2, 0, 1], [1, 3, 2]])
    assert (mesh.signed_measures > 0).all()
    np.testing.assert_array_equal(mesh.boundary["bottom"], [[0, 1]])
    np.testing.assert_array_equal(mesh.boundary["top"], [[3, 2]])
    np.testing.assert_array_equal(mesh.point_data["x"], [0, 1, 0, 1])


@pytest.mark.parametrize("points,cell_type,dim", [
    ([[0, 0, 0], [1, 0, 0], [3, 0, 0]], "line", 1),
    ([[0, 0, 0], [1, 1, 0], [3, 0, 0]], "line", 2),
    ([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "triangle", 2),
    ([[0, 0, 0], [1, 0, 0], [0, 1, 1]], "triangle", 3),
])
def test_from_meshio_keeps_only_the_nonzero_coordinates(points, cell_type, dim):
    cells = [[0, 1], [1, 2]] if cell_type == "line" else [[0, 1, 2]]
    mesh = from_meshio(meshio.Mesh(np.array(points, float), [(cell_type, cells)]))
    assert mesh.dim == dim
    np.testing.assert_array_equal(mesh.points, np.array(points, float)[:, :dim])


def test_unnamed_gmsh_groups_are_named_by_tag():
    raw = meshio.Mesh(np.array([[0.0, 0], [1, 0], [0, 1]]), [("triangle", [[0, 1, 2]]), ("line", [[0, 1], [1, 2]])],
                      cell_data={"gmsh:physical": [[9], [3, 4]], "gmsh:geometrical": [[1], [1, 2]]},
                      field_data={"wall": np.array([4, 1])})
    mesh = from_meshio(raw)
    assert {name: f.tolist() for name, f in mesh.boundary.items()} == {"wall": [[1, 2]], "3": [[0, 1]]}


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(MeshError, match="missing.msh: no such file"):
        read(tmp_path / "missing.msh")
    garbage = tmp_path / "garbage.msh"
    garbage.write_text("this is not a mesh\n")
    with pytest.raises(MeshError, match="garbage.msh: meshio cannot read it"):
        read(garbage)
    points = meshio.Mesh(np.eye(3), [("vertex", [[0], [1], [2]])])
    meshio.write(tmp_path / "points.vtu", points)
    with pytest.raises(MeshError, match=r"points.vtu: no line, triangle or tetra cells \(found \['vertex'\]\)"):
        read(tmp_path / "points.vtu")


def test_from_meshio_rejects_non_simplex_cells_and_loose_facets():
    points = np.array([[0.0, 0], [1, 0], [1, 1], [0, 1], [2, 0], [5, 5], [6, 5]])
    mixed = meshio.Mesh(points, [("triangle", [[1, 4, 2]]), ("quad", [[0, 1, 2, 3]])])
    with pytest.raises(MeshError, match=r"src: has \['quad'\] cells of dimension 2; meshsim holds linear simplices"):
        from_meshio(mixed, source="src")
    hexes = meshio.Mesh(np.eye(8, 3), [("triangle", [[0, 1, 2]]), ("hexahedron", [list(range(8))])])
    with pytest.raises(MeshError, match=r"src: has \['hexahedron'\] cells of dimension 3"):
        from_meshio(hexes, source="src")
    loose = meshio.Mesh(points, [("triangle", [[1, 4, 2]]), ("line", [[1, 4], [5, 6]])],
                        cell_data={"boundary:wall": [[0], [1, 1]]})
    with pytest.raises(MeshError, match=r"src: boundary 'wall' has facets \[1\] \(1 in all\) with nodes in no triangle"):
        from_meshio(loose, source="src")


def test_read_reports_invalid_meshes_with_the_file_name(tmp_path):
    flat = meshio.Mesh(np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 1, 0]]), [("triangle", [[0, 1, 2], [0, 1, 3]])])
    meshio.write(tmp_path / "flat.vtu", flat)
    with pytest.raises(MeshError, match=r"flat.vtu: zero-measure \(degenerate\) triangle cells \[0\]"):
        read(tmp_path / "flat.vtu")


def test_write_rejects_what_a_format_cannot_hold(tmp_path):
    mesh = MESHES["triangle"]()
    n = mesh.num_points
    with pytest.raises(MeshError, match="cannot write format None"):
        write(mesh, tmp_path / "m.obj")
    with pytest.raises(MeshError, match="'v' has 2 components; gmsh holds 1, 3 or 9"):
        write(mesh.with_data({"v": np.zeros((n, 2))}), tmp_path / "m.msh")
    with pytest.raises(MeshError, match="cannot read cell_data back from gmsh 2.2"):
        write(mesh.with_data(cell_data={"c": np.zeros(mesh.num_cells)}), tmp_path / "m.msh", file_format="gmsh22")
    with pytest.raises(MeshError, match="'t' has shape"):
        write(mesh.with_data({"t": np.zeros((n, 2, 2))}), tmp_path / "m.vtu")
    with pytest.raises(MeshError, match="'mask' has shape .* dtype bool"):
        write(mesh.with_data({"mask": np.zeros(n, bool)}), tmp_path / "m.vtu")
    with pytest.raises(MeshError, match="'boundary:x'.* reserved"):
        write(mesh.with_data({"boundary:x": np.zeros(n)}), tmp_path / "m.vtu")
    with pytest.raises(MeshError, match="meshio cannot write it as vtu"):
        write(mesh, tmp_path / "no" / "such" / "dir" / "m.vtu")


def test_gmsh41_needs_more_nodes_than_boundaries(tmp_path):
    triangle = Mesh([[0.0, 0], [1, 0], [0, 1]], [[0, 1, 2]], {"a": [[0, 1]], "b": [[1, 2]], "c": [[2, 0]]})
    with pytest.raises(MeshError, match=r"gmsh 4.1 needs more nodes \(3\) than non-empty boundaries \(3\)"):
        write(triangle, tmp_path / "t.msh")
    write(triangle, tmp_path / "t.msh", file_format="gmsh22")
    assert_same_boundaries(read(tmp_path / "t.msh"), triangle)


def test_mesh_methods_and_package_export(tmp_path):
    mesh = MESHES["triangle"]()
    converted = mesh.to_meshio()
    assert isinstance(converted, meshio.Mesh) and set(converted.field_data) == set(mesh.boundary)
    assert to_meshio(mesh, gmsh_tags=False).field_data == {}
    mesh.write(tmp_path / "m.vtu", binary=False)
    back = meshsim.read(tmp_path / "m.vtu")
    np.testing.assert_array_equal(back.cells, mesh.cells)
    assert_same_boundaries(back, mesh)


def _series(mesh, steps=4, seed=0):
    rng = np.random.default_rng(seed)
    n = mesh.num_points
    return np.linspace(0.0, 0.3, steps), {"u": rng.standard_normal((steps, n)), "v": rng.standard_normal((steps, n, 2))}


@pytest.mark.parametrize("kind", MESHES)
def test_xdmf_series_round_trip(tmp_path, kind):
    mesh = _jittered(MESHES[kind]())
    times, fields = _series(mesh)
    write_xdmf_series(tmp_path / "series.xdmf", mesh, times, fields)
    back, back_times, back_fields = read_xdmf_series(tmp_path / "series.xdmf")
    np.testing.assert_array_equal(back.points, mesh.points)
    np.testing.assert_array_equal(back.cells, mesh.cells)
    np.testing.assert_array_equal(back_times, times)
    assert set(back_fields) == {"u", "v"}
    for name, value in fields.items():
        np.testing.assert_array_equal(back_fields[name], value)


def test_xdmf_series_h5_lands_beside_the_xdmf(tmp_path, monkeypatch):
    elsewhere, out = tmp_path / "elsewhere", tmp_path / "out"
    elsewhere.mkdir()
    out.mkdir()
    monkeypatch.chdir(elsewhere)
    mesh = MESHES["triangle"]()
    times, fields = _series(mesh, steps=2)
    write_xdmf_series(out / "flow.xdmf", mesh, times, fields)
    assert sorted(p.name for p in out.iterdir()) == ["flow.h5", "flow.xdmf"]
    assert list(elsewhere.iterdir()) == []
    monkeypatch.chdir(tmp_path)
    np.testing.assert_array_equal(read_xdmf_series(out / "flow.xdmf")[2]["u"], fields["u"])


def test_xdmf_series_rejects_bad_shapes(tmp_path):
    mesh = MESHES["triangle"]()
    times, fields = _series(mesh, steps=3)
    with pytest.raises(MeshError, match=r"point field 'u' has shape \(2, 25\); expected \(3, 25\)"):
        write_xdmf_series(tmp_path / "s.xdmf", mesh, times, {"u": fields["u"][:2]})
    with pytest.raises(MeshError, match="times must be a finite"):
        write_xdmf_series(tmp_path / "s.xdmf", mesh, [0.0, np.nan, 1.0], fields)
    with pytest.raises(MeshError, match="no such file"):
        read_xdmf_series(tmp_path / "none.xdmf")


# -- files meshsim writes open where it reads; bad meshes are reported --------------------------
def test_a_single_state_written_as_xdmf_opens_in_read_info_and_meshio(tmp_path, capsys):
    mesh = MESHES["triangle"]()
    mesh = mesh.with_data({"u": mesh.points[:, 0]})
    mesh.write(tmp_path / "channel.xdmf")  # what the demo writes
    raw = meshio.read(tmp_path / "channel.xdmf")
    np.testing.assert_array_equal(raw.point_data["u"], mesh.point_data["u"])
    back = read(tmp_path / "channel.xdmf")
    np.testing.assert_array_equal(back.cells, mesh.cells)
    assert_same_boundaries(back, mesh)
    text = meshsim.mesh.describe_file(tmp_path / "channel.xdmf")
    assert "point_data 'u': shape (25,)" in text and "time series" not in text
    assert capsys.readouterr() == ("", "")


def test_time_series_are_read_one_step_at_a_time_and_described(tmp_path, capsys):
    mesh = MESHES["triangle"]()
    times, fields = _series(mesh, steps=3)
    write_xdmf_series(tmp_path / "flow.xdmf", mesh, times, fields)
    last, first = read(tmp_path / "flow.xdmf"), read(tmp_path / "flow.xdmf", step=0)
    np.testing.assert_array_equal(last.cells, mesh.cells)
    np.testing.assert_array_equal(last.point_data["u"], fields["u"][2])
    np.testing.assert_array_equal(first.point_data["v"], fields["v"][0])
    with pytest.raises(MeshError, match="flow.xdmf: no time step 3; the series has 3"):
        read(tmp_path / "flow.xdmf", step=3)
    assert main(["info", str(tmp_path / "flow.xdmf")]) == 0
    out = capsys.readouterr()
    assert "time series: 3 steps, times [0, 0.15, 0.3]; the fields below are step 2 (t = 0.3)" in out.out
    assert "point_data 'u': shape (25,)" in out.out and "point_data 'v': shape (25, 2)" in out.out
    assert out.err == ""
    one_step = tmp_path / "one.xdmf"  # the demo's file before: a one-step series
    write_xdmf_series(one_step, mesh, [0.0], {"u": fields["u"][:1]})
    np.testing.assert_array_equal(read(one_step).point_data["u"], fields["u"][0])


def _grid(n=4):
    """(points, cells): an n x n square grid of counter-clockwise triangles."""
    sk = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    points = sk.p.T.copy()
    return points, meshsim.mesh.geometry.orient_cells(points, sk.t.T)


def _folded(points, cells):
    """Move interior node 6 of the 4 x 4 grid (at (0.25, 0.25)) past its right neighbour."""
    points = points.copy()
    node = int(np.flatnonzero(np.all(np.isclose(points, [0.25, 0.25]), axis=1))[0])
    points[node] = [0.62, 0.3]
    return points, cells


def test_a_folded_triangle_is_refused_named_and_repaired_on_request(tmp_path, capsys):
    points, cells = _folded(*_grid())
    negative = np.flatnonzero(meshsim.mesh.geometry.signed_measures(points, cells) < 0)
    assert 0 < len(negative) < 6
    meshio.write(tmp_path / "folded.vtu", meshio.Mesh(points, [("triangle", cells)]))
    with pytest.raises(MeshError, match=rf"folded.vtu: folded \(inverted\) triangle cells \[{', '.join(map(str, negative))}\]"):
        read(tmp_path / "folded.vtu")
    with pytest.warns(meshsim.mesh.MeshRepairWarning, match="folded cells reversed"):
        repaired = read(tmp_path / "folded.vtu", repair=True)
    assert (repaired.signed_measures > 0).all()
    assert main(["info", str(tmp_path / "folded.vtu")]) == 0
    out = capsys.readouterr().out
    assert f"file: folded (inverted) triangle cells [{', '.join(map(str, negative))}]" in out


def test_a_folded_tetrahedron_is_found():
    sk = skfem.MeshTet1().refined(2)
    points, cells = sk.p.T.copy(), sk.t.T.copy()
    cells = meshsim.mesh.geometry.orient_cells(points, cells)
    interior = int(np.flatnonzero(np.all(np.isclose(points, [0.5, 0.5, 0.5]), axis=1))[0])
    points[interior] = [0.9, 0.5, 0.5]
    negative = np.flatnonzero(meshsim.mesh.geometry.signed_measures(points, cells) < 0)
    assert len(negative) > 0
    with pytest.raises(MeshError, match=r"src: folded \(inverted\) tetra cells"):
        from_meshio(meshio.Mesh(points, [("tetra", cells)]), source="src")
    from meshsim.mesh.cell_checks import orientation

    np.testing.assert_array_equal(orientation(points, cells).folded_ids, negative)


def test_cells_ordered_clockwise_are_reversed_silently(tmp_path, recwarn):
    points, cells = _grid()
    flipped = cells[:, ::-1]  # the whole file clockwise
    mixed = np.where((np.arange(len(cells)) % 3 == 0)[:, None], flipped, cells)  # writer does not care
    for name, file_cells in (("clockwise", flipped), ("mixed", mixed)):
        meshio.write(tmp_path / f"{name}.vtu", meshio.Mesh(points, [("triangle", file_cells)]))
        mesh = read(tmp_path / f"{name}.vtu")
        assert (mesh.signed_measures > 0).all()
        np.testing.assert_array_equal(np.sort(mesh.cells, axis=1), np.sort(cells, axis=1))
    assert not recwarn.list
    text = meshsim.mesh.describe_file(tmp_path / "clockwise.vtu")
    assert f"file: {len(cells)} triangle cells ordered clockwise (negatively), reversed on reading" in text


def test_duplicate_cells_are_refused_or_dropped_with_their_data(tmp_path):
    points, cells = _grid(2)
    with_copies = np.concatenate([cells, cells[[3]], cells[[1], ::-1]])
    region = np.arange(len(with_copies))
    meshio.write(tmp_path / "dup.vtu", meshio.Mesh(points, [("triangle", with_copies)], cell_data={"r": [region]}))
    with pytest.raises(MeshError, match=r"dup.vtu: duplicate triangle cells \[8, 9\] \(2 in all\); read\(path, "
                                        r"repair=True\)"):
        read(tmp_path / "dup.vtu")
    with pytest.warns(meshsim.mesh.MeshRepairWarning, match="duplicates dropped"):
        mesh = read(tmp_path / "dup.vtu", repair=True)
    assert mesh.num_cells == len(cells)
    np.testing.assert_array_equal(mesh.cell_data["r"], np.arange(len(cells)))


SU2 = """NDIME= 2
NELEM= 2
5 0 1 2 0
5 0 2 3 1
NPOIN= 4
0.0 0.0 0
1.0 0.0 1
1.0 1.0 2
0.0 1.0 3
NMARK= 2
MARKER_TAG= wall
MARKER_ELEMS= 2
3 0 1
3 1 2
MARKER_TAG= inlet
MARKER_ELEMS= 1
3 3 0
"""


def test_su2_markers_and_medit_references_become_boundaries(tmp_path, capsys):
    (tmp_path / "square.su2").write_text(SU2)
    mesh = read(tmp_path / "square.su2")
    assert {name: f.tolist() for name, f in mesh.boundary.items()} == {"wall": [[0, 1], [1, 2]], "inlet": [[3, 0]]}
    assert capsys.readouterr() == ("", "")  # meshio's "Warning: ... tags of string type" does not leak
    points, cells = _grid(1)
    edges = np.array([[0, 1], [1, 3], [3, 2], [2, 0]])
    meshio.write(tmp_path / "square.mesh", meshio.Mesh(np.c_[points, np.zeros(4)], [("triangle", cells), ("line", edges)],
                                                       cell_data={"medit:ref": [[1, 1], [3, 3, 4, 4]]}))
    mesh = read(tmp_path / "square.mesh")
    assert {name: len(f) for name, f in mesh.boundary.items()} == {"3": 2, "4": 2}


def test_facets_without_a_boundary_name_are_dropped_with_a_warning(tmp_path):
    points, cells = _grid(1)
    meshio.write(tmp_path / "bare.vtu", meshio.Mesh(points, [("triangle", cells), ("line", [[0, 1], [1, 3]])]))
    with pytest.warns(UserWarning, match="bare.vtu: 2 boundary facets carry no boundary name meshsim reads"):
        assert read(tmp_path / "bare.vtu").boundary == {}


def test_info_errors_are_one_line(tmp_path, capsys):
    points, cells = _grid(1)
    meshio.write(tmp_path / "bad.vtu", meshio.Mesh(points, [("triangle", np.array([[0, 1, 2], [1, 3, 9]]))]))
    (tmp_path / "shape.geo").write_text("Point(1) = {0, 0, 0};\n")
    (tmp_path / "garbage.msh").write_text("this is not a mesh\n")
    expected = {
        tmp_path / "bad.vtu": r"bad.vtu: triangle cells \[1\] \(1 in all\) have node indices out of range \[0, 4\)",
        tmp_path: "is a directory, not a mesh file",
        tmp_path / "shape.geo": r"shape.geo: is a gmsh script, not a mesh: mesh it with `meshsim mesh from_geo ",
        tmp_path / "garbage.msh": "garbage.msh: meshio cannot read it",
        tmp_path / "none.vtu": "none.vtu: no such file",
    }
    capsys.readouterr()  # meshio.write's own warnings above
    for path, message in expected.items():
        assert main(["info", str(path)]) == 2
        out = capsys.readouterr()
        assert out.out == "" and len(out.err.splitlines()) == 1, out
        assert re.match(rf"meshsim info: error: .*{message}", out.err) and "SystemExit" not in out.err, out.err
