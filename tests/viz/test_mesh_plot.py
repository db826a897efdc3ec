import numpy as np
import pytest
import skfem
from matplotlib.figure import Figure

from meshsim import Mesh, MeshError
from meshsim.graph import from_mesh
from meshsim.viz import plot_mesh

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def square() -> Mesh:
    sk = skfem.MeshTri1().refined(2).with_boundaries({
        "inlet": lambda x: x[0] == 0.0, "outlet": lambda x: x[0] == 1.0,
        "walls": lambda x: (x[1] == 0.0) | (x[1] == 1.0)})
    return Mesh.from_skfem(sk)


@pytest.fixture
def cube() -> Mesh:
    sk = skfem.MeshTet1().with_boundaries({"bottom": lambda x: x[2] == 0.0, "left": lambda x: x[0] == 0.0})
    return Mesh.from_skfem(sk)


@pytest.fixture
def line() -> Mesh:
    x = np.linspace(0.0, 1.0, 11)[:, None]
    return Mesh(x, np.stack([np.arange(10), np.arange(1, 11)], axis=1), boundary={"left": [[0]], "right": [[10]]})


def _legend(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def _assert_png(path, min_bytes=2000):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes


def test_triangle_field_png_and_legend(square, tmp_path):
    path = tmp_path / "square.png"
    ax = plot_mesh(square, field=square.points[:, 0] * square.points[:, 1], path=path, title="xy")
    _assert_png(path)
    assert _legend(ax) == ["inlet", "outlet", "walls"]
    assert ax.get_title() == "xy"
    assert len(ax.figure.axes) == 2  # plot and colour bar


def test_triangle_mesh_without_field_or_boundaries(square):
    ax = plot_mesh(square, show_boundaries=False)
    assert ax.get_legend() is None
    assert len(ax.figure.axes) == 1


def test_field_by_name_and_per_cell(square):
    mesh = square.with_data(point_data={"p": square.points[:, 1]}, cell_data={"q": np.arange(square.num_cells)})
    assert _legend(plot_mesh(mesh, field="p")) == ["inlet", "outlet", "walls"]
    assert _legend(plot_mesh(mesh, field="q")) == ["inlet", "outlet", "walls"]


def test_wrong_field_length_is_named(square):
    with pytest.raises(MeshError, match=r"\(25,\) \(one value per node\) or \(32,\).*got \(7,\)"):
        plot_mesh(square, field=np.zeros(7))
    with pytest.raises(MeshError, match="no field 'nope'"):
        plot_mesh(square, field="nope")


def test_draws_in_given_axes_and_graphs(square, tmp_path):
    figure = Figure()
    ax = figure.add_subplot()
    path = tmp_path / "graph.png"
    assert plot_mesh(from_mesh(square), ax=ax, path=path) is ax
    _assert_png(path)
    assert _legend(ax) == ["inlet", "outlet", "walls"]


def test_line_mesh_field_against_x(line, tmp_path):
    path = tmp_path / "line.png"
    ax = plot_mesh(line, field=line.points[:, 0] ** 2, path=path)
    _assert_png(path)
    assert _legend(ax) == ["left", "right"]
    x, y = ax.get_lines()[0].get_data()
    np.testing.assert_array_equal(y, x**2)


def test_tetra_surface_in_3d(cube, tmp_path):
    path = tmp_path / "cube.png"
    ax = plot_mesh(cube, field=cube.points[:, 2], path=path)
    _assert_png(path)
    assert ax.name == "3d"
    assert _legend(ax) == ["bottom", "left"]


def test_3d_mesh_needs_3d_axes(cube):
    with pytest.raises(MeshError, match="3D axes"):
        plot_mesh(cube, ax=Figure().add_subplot())


def test_lines_in_2d_are_refused():
    mesh = Mesh(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[0, 1]]))
    with pytest.raises(MeshError, match="cannot draw line cells in 2D"):
        plot_mesh(mesh)
