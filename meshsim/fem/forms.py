"""Scalar weak forms shared by the problems (scikit-fem forms; ``w`` holds coefficients at
quadrature points, see `FunctionSpace.coefficient`)."""
from skfem import BilinearForm, LinearForm
from skfem.helpers import dot, grad


@BilinearForm
def diffusion(u, v, w):
    """``int kappa grad u . grad v dx`` (``w.kappa``: (E, Q))."""
    return w.kappa * dot(grad(u), grad(v))


@BilinearForm
def mass(u, v, _):
    """``int u v dx``."""
    return u * v


@LinearForm
def source(v, w):
    """``int f v dx`` (``w.f``: (E, Q))."""
    return w.f * v
