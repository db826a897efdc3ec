import numpy as np
import pytest
import skfem
from scipy.special import gamma, kv

from meshsim.fem import FEMError, gaussian_random_field, lognormal_field
from meshsim.mesh import Mesh

# five points at distances 0, 0.05, 0.1, 0.2, 0.4 from the first along a diagonal direction
DIRECTION = np.array([0.6, 0.8])
POINTS = np.outer([0.0, 0.05, 0.1, 0.2, 0.4], DIRECTION) + 0.1
DISTANCES = np.linalg.norm(POINTS - POINTS[0], axis=1)
SAMPLES = 4000


def empirical_covariance_with_first(fields):
    centred = fields - fields.mean(axis=0)
    return centred.T @ centred[:, 0] / (len(fields) - 1)


def matern(r, length_scale, nu, variance):
    scaled = np.sqrt(2 * nu) * np.maximum(r, 1e-12) / length_scale
    return variance * 2 ** (1 - nu) / gamma(nu) * scaled ** nu * kv(nu, scaled)


def test_squared_exponential_covariance_matches_target():
    fields = gaussian_random_field(POINTS, 0.1, variance=2.0, seed=0, n_modes=64, num_samples=SAMPLES)
    target = 2.0 * np.exp(-DISTANCES ** 2 / (2 * 0.1 ** 2))
    tolerance = 4 * 2.0 * np.sqrt(2.0 / SAMPLES)  # four standard errors of a covariance estimate
    np.testing.assert_allclose(empirical_covariance_with_first(fields), target, atol=tolerance)
    assert abs(fields.mean()) < tolerance


@pytest.mark.parametrize("nu", [0.5, 1.5])
def test_matern_covariance_matches_target(nu):
    fields = gaussian_random_field(POINTS, 0.15, seed=1, n_modes=64, nu=nu, num_samples=SAMPLES)
    target = matern(DISTANCES, 0.15, nu, 1.0)
    np.testing.assert_allclose(empirical_covariance_with_first(fields), target, atol=4 * np.sqrt(2.0 / SAMPLES))


def test_anisotropic_length_scale():
    along_x = np.array([[0.0, 0.0], [0.1, 0.0]])
    along_y = np.array([[0.0, 0.0], [0.0, 0.1]])
    kwargs = dict(length_scale=[0.5, 0.05], n_modes=64, num_samples=SAMPLES)
    correlation_x = np.corrcoef(gaussian_random_field(along_x, seed=2, **kwargs).T)[0, 1]
    correlation_y = np.corrcoef(gaussian_random_field(along_y, seed=2, **kwargs).T)[0, 1]
    assert correlation_x == pytest.approx(np.exp(-0.5 * 0.2 ** 2), abs=0.05)
    assert correlation_y == pytest.approx(np.exp(-0.5 * 2.0 ** 2), abs=0.05)


def test_reproducible_from_seed_on_any_point_set():
    mesh = Mesh.from_skfem(skfem.MeshTri1().refined(3).with_defaults())
    field = gaussian_random_field(mesh, 0.2, seed=42)
    assert field.shape == (mesh.num_points,)
    np.testing.assert_array_equal(field, gaussian_random_field(mesh.points, 0.2, seed=42))
    subset = gaussian_random_field(mesh.points[::7], 0.2, seed=42)
    np.testing.assert_allclose(subset, field[::7], atol=1e-12)  # a function of x, fixed by the seed
    assert not np.allclose(field, gaussian_random_field(mesh, 0.2, seed=43))
    smooth = gaussian_random_field(mesh, 1.0, seed=42)
    rough = gaussian_random_field(mesh, 0.05, seed=42)
    edges = mesh.edges
    mean_jump = [np.abs(u[edges[:, 0]] - u[edges[:, 1]]).mean() for u in (smooth, rough)]
    assert mean_jump[0] < mean_jump[1] / 4


def test_lognormal_field_is_positive_with_the_given_median():
    fields = lognormal_field(POINTS, 0.1, log_variance=0.25, median=3.0, seed=5, n_modes=64,
                             num_samples=SAMPLES)
    assert fields.min() > 0
    assert np.median(fields) == pytest.approx(3.0, rel=0.05)
    assert np.log(fields).var() == pytest.approx(0.25, rel=0.1)


def test_one_dimensional_points_and_bad_arguments():
    assert gaussian_random_field(np.linspace(0, 1, 11), 0.3, seed=0).shape == (11,)
    with pytest.raises(FEMError, match="length_scale must be positive"):
        gaussian_random_field(POINTS, -1.0)
    with pytest.raises(FEMError, match="variance must be >= 0"):
        gaussian_random_field(POINTS, 1.0, variance=-1.0)
    with pytest.raises(FEMError, match="Matern smoothness nu must be positive"):
        gaussian_random_field(POINTS, 1.0, nu=0.0)
    with pytest.raises(FEMError, match=r"points must have shape \(N, dim\)"):
        gaussian_random_field(np.zeros((3, 4)), 1.0)
    with pytest.raises(FEMError, match="median must be positive"):
        lognormal_field(POINTS, 1.0, median=0.0)
