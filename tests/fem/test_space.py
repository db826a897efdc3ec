import numpy as np
import pytest
import skfem

from meshsim.fem import FEMError, FunctionSpace, as_space
from meshsim.fem.forms import diffusion, mass
from meshsim.mesh import Mesh, MeshError


def unit_square(n: int = 2) -> Mesh:
    return Mesh.from_skfem(skfem.MeshTri1().refined(n).with_defaults())


def unit_cube(n: int = 1) -> Mesh:
    return Mesh.from_skfem(skfem.MeshTet1().refined(n).with_defaults())


def unit_interval(n: int = 8) -> Mesh:
    return Mesh(np.linspace(0, 1, n + 1), np.stack([np.arange(n), np.arange(1, n + 1)], axis=1),
                boundary={"left": [[0]], "right": [[n]]})


@pytest.mark.parametrize("make", [unit_interval, unit_square, unit_cube])
def test_dof_counts(make):
    mesh = make()
    assert FunctionSpace(mesh).num_dofs == mesh.num_points
    extra = mesh.num_cells if mesh.dim == 1 else len(mesh.edges)  # one P2 dof per edge
    assert FunctionSpace(mesh, order=2).num_dofs == mesh.num_points + extra
    assert FunctionSpace(mesh, order=2, vector=True).num_dofs == mesh.dim * (mesh.num_points + extra)


@pytest.mark.parametrize("make", [unit_interval, unit_square, unit_cube])
def test_vertex_values_round_trip_and_p2_edge_dofs_interpolate(make):
    mesh = make()
    space = FunctionSpace(mesh, order=2)
    linear = 1.0 + mesh.points @ np.arange(1.0, mesh.dim + 1.0)
    dofs = space.from_vertices(linear)
    np.testing.assert_array_equal(space.to_vertices(dofs), linear)
    expected = 1.0 + np.arange(1.0, mesh.dim + 1.0) @ space.basis.doflocs  # linear is exact in P2
    np.testing.assert_allclose(dofs, expected, atol=1e-13)


def test_vector_space_components_and_interpolation():
    mesh = unit_square()
    space = FunctionSpace(mesh, order=2, vector=True)
    components = space.dof_components
    assert np.bincount(components).tolist() == [space.num_dofs // 2] * 2
    dofs = space.interpolate(lambda x: np.stack([x[0], -2.0 * x[1]]))
    x = space.basis.doflocs
    np.testing.assert_allclose(dofs[components == 0], x[0, components == 0])
    np.testing.assert_allclose(dofs[components == 1], -2.0 * x[1, components == 1])
    vertex = space.to_vertices(dofs)
    assert vertex.shape == (mesh.num_points, 2)
    np.testing.assert_allclose(vertex, mesh.points * [1.0, -2.0])
    np.testing.assert_allclose(space.from_vertices(vertex), dofs, atol=1e-14)
    constant = space.interpolate(np.array([3.0, 4.0]))
    assert set(constant[components == 0]) == {3.0} and set(constant[components == 1]) == {4.0}


def test_interpolate_rejects_bad_values():
    space = FunctionSpace(unit_square(), order=2)
    with pytest.raises(FEMError, match=r"u0 has shape \(3,\); expected a constant, point values \(25,\) "
                                       r"or a dof vector \(81,\)"):
        space.interpolate(np.ones(3), name="u0")
    with pytest.raises(FEMError, match="u0 is not finite at 81 dofs"):
        space.interpolate(lambda x: np.full(x.shape[1], np.nan), name="u0")
    with pytest.raises(FEMError, match=r"u0\(x\) returned shape \(2, 81\), expected \(81,\)"):
        space.interpolate(lambda x: x, name="u0")


@pytest.mark.parametrize("order", [1, 2])
def test_cached_pattern_assembly_equals_skfem(order):
    space = FunctionSpace(unit_square(3), order=order)
    rng = np.random.default_rng(0)
    for _ in range(2):  # the second call reuses the cached pattern
        kappa = space.coefficient(1.0 + rng.random(space.mesh.num_points), "kappa")
        ours = space.assemble_matrix(diffusion, kappa=kappa)
        reference = diffusion.assemble(space.basis, kappa=kappa)
        assert abs(ours - reference).max() < 1e-13
        assert ours.has_canonical_format
    area = space.assemble_matrix(mass).sum()
    assert area == pytest.approx(1.0, abs=1e-13)


def test_boundary_dofs_include_p2_edge_dofs():
    mesh = unit_square(2)  # 4 x 4 squares: 5 vertices and 4 edges on each side
    assert len(FunctionSpace(mesh).boundary_dofs("left")) == 5
    space = FunctionSpace(mesh, order=2)
    left = space.boundary_dofs("left")
    assert len(left) == 9
    np.testing.assert_allclose(space.basis.doflocs[0, left], 0.0)
    vector = FunctionSpace(mesh, order=2, vector=True)
    assert len(vector.boundary_dofs("left")) == 18
    assert len(vector.boundary_dofs("left", component=1)) == 9
    with pytest.raises(FEMError, match="component 2 does not exist"):
        vector.boundary_dofs("left", component=2)


def test_unknown_boundary_lists_available_names():
    space = FunctionSpace(unit_square())
    with pytest.raises(FEMError, match=r"neumann: no boundary named 'inlet'; this mesh has boundaries "
                                       r"\['bottom', 'left', 'right', 'top'\]"):
        space.facet_basis("inlet", kind="neumann")


def test_inverted_cell_raises_mesh_error_naming_it():
    mesh = unit_square()
    cells = mesh.cells.copy()
    cells[5, [0, 1]] = cells[5, [1, 0]]
    tangled = Mesh(mesh.points, cells, mesh.boundary, validate=False)
    with pytest.raises(MeshError, match=r"inverted .* cells \[5\] \(1 in all\)"):
        FunctionSpace(tangled)


def test_bad_space_arguments():
    mesh = unit_square()
    with pytest.raises(FEMError, match="order must be 1"):
        FunctionSpace(mesh, order=3)
    surface = Mesh(np.c_[mesh.points, np.zeros(mesh.num_points)], mesh.cells)
    with pytest.raises(FEMError, match="triangle cells in 3D"):
        FunctionSpace(surface)
    space = FunctionSpace(mesh)
    assert as_space(space) is space
    with pytest.raises(FEMError, match="order=2 was asked for but the given space is P1"):
        as_space(space, order=2)
    with pytest.raises(FEMError, match="expected a Mesh or FunctionSpace"):
        as_space(mesh.points)
