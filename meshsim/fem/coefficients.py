"""Coefficients of FEM problems (kappa, f, velocity, boundary data) at quadrature points.

A coefficient is given as one of
- a constant: a number, or an array of the coefficient's value shape (e.g. a velocity (dim,));
- a callable of ``x``, the global quadrature points of shape (dim, E, Q) as scikit-fem passes
  them (E cells or facets, Q points each), returning ``value_shape + (E, Q)`` (or anything
  that broadcasts to it);
- point values at the mesh vertices, shape ``(N,) + value_shape``, interpolated linearly (P1).
Whatever the form, the values are checked (shape, finiteness, optionally positivity) and a
bad coefficient raises `FEMError` naming it, before anything is assembled.
"""
from __future__ import annotations

from typing import Callable, Union

import numpy as np
import skfem

from ..mesh.errors import format_ids
from .errors import FEMError

#: what a problem accepts for a coefficient (see the module docstring)
Coefficient = Union[float, np.ndarray, Callable[[np.ndarray], np.ndarray]]


def evaluate_coefficient(value: Coefficient, name: str, basis: skfem.AbstractBasis,
                         p1_basis: skfem.AbstractBasis, shape: tuple = (),
                         positive: bool = False) -> np.ndarray:
    """Values of a coefficient at the quadrature points of ``basis``: array ``shape + (E, Q)``.

    Args:
        value: constant, callable of x (dim, E, Q), or point values ``(N,) + shape``.
        name: what the coefficient is called in error messages (``"kappa"``).
        basis: cell or facet basis whose quadrature points are used.
        p1_basis: scalar P1 basis with the same quadrature (interpolates point values).
        shape: value shape of the coefficient: ``()`` scalar, ``(dim,)`` vector.
        positive: require every value to be > 0 (conductivities, viscosities).

    Raises:
        FEMError: wrong shape or length, non-finite values, or (with ``positive``) values <= 0.
    """
    num_elements, num_qp = basis.nelems, basis.X.shape[-1]
    full_shape = tuple(shape) + (num_elements, num_qp)
    num_points = int(p1_basis.N)
    if callable(value):
        x = np.asarray(basis.global_coordinates())
        raw = np.asarray(value(x), dtype=np.float64)
        try:
            values = np.broadcast_to(raw, full_shape)
        except ValueError:
            raise FEMError(f"{name}(x) returned shape {raw.shape} for x of shape {x.shape}; "
                           f"expected {full_shape}") from None
        _check_finite_at_quadrature(values, name, basis, len(shape))
    else:
        array = np.asarray(value, dtype=np.float64)
        if array.shape == (num_points,) + tuple(shape):
            bad = np.flatnonzero(~np.isfinite(array.reshape(num_points, -1)).all(axis=1))
            if len(bad):
                raise FEMError(f"{name} is not finite at points {format_ids(bad)}")
            bad = np.flatnonzero(array.reshape(num_points, -1).min(axis=1) <= 0) if positive else []
            if len(bad):
                raise FEMError(f"{name} must be positive; its minimum is {array.min():.3g}, at points "
                               f"{format_ids(bad)}")
            values = _interpolate_points(array, p1_basis)
        elif array.shape == tuple(shape) or array.ndim == 0:
            if not np.isfinite(array).all():
                raise FEMError(f"{name} is not finite: {array.tolist()}")
            values = np.broadcast_to(np.broadcast_to(array, shape)[..., None, None], full_shape)
        else:
            raise FEMError(f"{name} has shape {array.shape}; expected a constant of shape "
                           f"{tuple(shape)} or point values of shape {(num_points,) + tuple(shape)} "
                           f"(one per mesh point)")
    if positive:
        _check_positive(values, name, basis)
    return values


def _interpolate_points(values: np.ndarray, p1_basis: skfem.AbstractBasis) -> np.ndarray:
    """P1 interpolation of point values (N,) + shape to quadrature points: shape + (E, Q)."""
    out = 0.0
    for i in range(p1_basis.Nbfun):
        corner = np.moveaxis(values[p1_basis.element_dofs[i]], 0, -1)  # shape + (E,)
        out = out + corner[..., None] * np.asarray(p1_basis.basis[i][0])
    return out


def _check_finite_at_quadrature(values: np.ndarray, name: str, basis, value_ndim: int) -> None:
    finite = np.isfinite(values).reshape(-1, *values.shape[value_ndim:]).all(axis=(0, 2))
    bad = np.flatnonzero(~finite)
    if len(bad):
        raise FEMError(f"{name}(x) is not finite at the quadrature points of {_where(basis, bad)}")


def _check_positive(values: np.ndarray, name: str, basis) -> None:
    minimum = values.min(axis=-1).reshape(-1, values.shape[-2]).min(axis=0)
    bad = np.flatnonzero(minimum <= 0)
    if len(bad):
        raise FEMError(f"{name} must be positive; its minimum is {minimum[bad].min():.3g}, at the "
                       f"quadrature points of {_where(basis, bad)}")


def _where(basis, elements: np.ndarray) -> str:
    """Describe basis elements: cell ids for a cell basis, a point for a facet basis."""
    if isinstance(basis, skfem.FacetBasis):
        x = np.asarray(basis.global_coordinates())[:, elements[0], 0]
        return f"{len(elements)} boundary facets, e.g. near x = {np.round(x, 6).tolist()}"
    cells = elements if basis.tind is None else np.asarray(basis.tind)[elements]
    return f"cells {format_ids(cells)}"
