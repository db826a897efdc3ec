import numpy as np
import pytest
import skfem

from meshsim import Mesh


def _channel_square(n: int) -> Mesh:
    """Unit square, 2 * 4**n triangles, boundaries inlet (x=0), outlet (x=1), walls (y=0, y=1)."""
    sk = skfem.MeshTri1().refined(n).with_boundaries({
        "inlet": lambda x: x[0] == 0.0,
        "outlet": lambda x: x[0] == 1.0,
        "walls": lambda x: (x[1] == 0.0) | (x[1] == 1.0),
    })
    return Mesh.from_skfem(sk)


def _line(n: int) -> Mesh:
    x = np.linspace(0.0, 1.0, n + 1)[:, None]
    return Mesh(x, np.stack([np.arange(n), np.arange(1, n + 1)], axis=1), boundary={"left": [[0]], "right": [[n]]})


def _tet() -> Mesh:
    sk = skfem.MeshTet1().refined(1).with_boundaries({"bottom": lambda x: x[2] == 0.0, "top": lambda x: x[2] == 1.0})
    return Mesh.from_skfem(sk)


def _jittered(mesh: Mesh, seed: int = 0) -> Mesh:
    """``mesh`` with every point moved by up to 1e-3 (points float32 cannot hold exactly)."""
    rng = np.random.default_rng(seed)
    return mesh.with_points(mesh.points + 1e-3 * rng.uniform(-1.0, 1.0, mesh.points.shape))


@pytest.fixture
def square() -> Mesh:
    """Unit square, 5 x 5 nodes, 32 triangles, boundaries inlet, outlet, walls."""
    return _channel_square(2)


@pytest.fixture
def line() -> Mesh:
    """[0, 1] in 4 cells, boundaries left and right."""
    return _line(4)


@pytest.fixture(params=["line", "triangle", "tetra"])
def any_mesh(request) -> Mesh:
    """A jittered 1D, 2D and 3D mesh with named boundaries and point data of each rank."""
    make = {"line": lambda: _line(8), "triangle": lambda: _channel_square(2), "tetra": _tet}[request.param]
    mesh = _jittered(make())
    rng = np.random.default_rng(1)
    n = mesh.num_points
    return mesh.with_data({"p": rng.normal(size=n), "u": rng.normal(size=(n, 2)), "h": rng.normal(size=(n, 3, 2))})
