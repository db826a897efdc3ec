import numpy as np
import pytest
import skfem
from skfem.helpers import dot, grad

from meshsim.mesh import Mesh, MeshError, from_skfem, to_skfem
from meshsim.mesh.geometry import orient_cells
from meshsim.mesh.skfem_bridge import facet_indices


def _sorted_rows(facets) -> np.ndarray:
    rows = np.sort(np.asarray(facets), axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def _line() -> skfem.MeshLine1:
    return skfem.MeshLine1().refined(3).with_boundaries({"left": lambda x: x[0] == 0, "right": lambda x: x[0] == 1})


SKFEM_MESHES = {
    "line": _line,
    "triangle": lambda: skfem.MeshTri1().refined(2).with_defaults(),
    "tetra": lambda: skfem.MeshTet1().refined(1).with_defaults(),
}


def _unsorted(mesh: Mesh) -> Mesh:
    """Same mesh with each cell's vertices rotated (then re-oriented): rows not in sorted order."""
    cells = orient_cells(mesh.points, np.roll(mesh.cells, 1, axis=1))
    return Mesh(mesh.points, cells, mesh.boundary)


@pytest.mark.parametrize("kind", SKFEM_MESHES)
def test_mesh_to_skfem_and_back_keeps_points_cells_and_boundaries(kind):
    mesh = _unsorted(from_skfem(SKFEM_MESHES[kind]()))
    assert not (np.diff(mesh.cells, axis=1) > 0).all()  # the round trip has something to lose
    sk = to_skfem(mesh)
    np.testing.assert_array_equal(sk.t.T, mesh.cells)
    back = from_skfem(sk)
    np.testing.assert_array_equal(back.points, mesh.points)
    np.testing.assert_array_equal(back.cells, mesh.cells)
    assert set(back.boundary) == set(mesh.boundary)
    for name in mesh.boundary:
        np.testing.assert_array_equal(_sorted_rows(back.boundary[name]), _sorted_rows(mesh.boundary[name]))
        np.testing.assert_array_equal(_sorted_rows(sk.facets[:, sk.boundaries[name]].T), _sorted_rows(mesh.boundary[name]))


@pytest.mark.parametrize("kind", SKFEM_MESHES)
def test_from_skfem_orients_cells_positively(kind):
    sk = SKFEM_MESHES[kind]()
    if kind == "line":  # scikit-fem keeps a reversed line as it is
        sk = skfem.MeshLine1(sk.p, sk.t[::-1])
    flipped = (Mesh(sk.p.T, sk.t.T, validate=False).signed_measures < 0).sum()
    assert flipped > 0  # scikit-fem's sorted cells include negatively oriented ones
    mesh = from_skfem(sk)
    assert (mesh.signed_measures > 0).all()
    np.testing.assert_array_equal(np.sort(mesh.cells, axis=1), np.sort(sk.t.T, axis=1))
    np.testing.assert_array_equal(mesh.points, sk.p.T)


def test_unsorted_cells_assemble_the_same_stiffness_matrix():
    mesh = from_skfem(skfem.MeshTri1().refined(3))
    rolled = _unsorted(mesh)

    @skfem.BilinearForm
    def laplace(u, v, _):
        return dot(grad(u), grad(v))

    matrices = [laplace.assemble(skfem.Basis(to_skfem(m), skfem.ElementTriP2())) for m in (mesh, rolled)]
    assert abs(matrices[0] - matrices[1]).max() < 1e-12


def test_facet_indices_finds_facets_in_any_vertex_order():
    sk = skfem.MeshTet1().refined(1)
    rng = np.random.default_rng(0)
    wanted_ids = rng.choice(sk.facets.shape[1], size=20, replace=False)
    wanted = rng.permuted(sk.facets[:, wanted_ids].T, axis=1)
    np.testing.assert_array_equal(facet_indices(sk, wanted), wanted_ids)


def test_facets_that_are_not_mesh_facets_raise():
    sk = skfem.MeshTri1().refined(1)
    good = sk.facets[:, :3].T
    # nodes 0, 4, 6, 3 are (0, 0), (0.5, 0), (0.5, 0.5), (1, 1): 0-4 is an edge, 0-6 and 3-0 are not
    bad = np.r_[good, [[0, 6], [4, 0], [3, 0]]]
    with pytest.raises(MeshError, match=r"boundary facets \[3, 5\] are not facets"):
        facet_indices(sk, bad)
    mesh = Mesh(sk.p.T, orient_cells(sk.p.T, sk.t.T), {"diagonal": bad})
    with pytest.raises(MeshError, match="are not facets of the mesh"):
        to_skfem(mesh)


def test_meshes_scikit_fem_cannot_hold_raise():
    curve = Mesh([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]], [[0, 1], [1, 2]])
    with pytest.raises(MeshError, match="scikit-fem has no mesh for line cells in 2D"):
        to_skfem(curve)
