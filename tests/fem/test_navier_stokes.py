import dataclasses

import numpy as np
import pytest
import skfem

from meshsim.fem import FEMError, dfg_2d1, dfg_2d2, navier_stokes, steady_navier_stokes
from meshsim.fem.curved import circle
from meshsim.fem.dfg import (REFERENCE_2D1, REFERENCE_2D2, lift_maxima, oscillation_period, parabolic_inflow,
                             peak_value, pressure_difference_at_half_period)
from test_curved import annulus
from meshsim.fem.taylor_hood import TaylorHoodSystem
from meshsim.mesh import Mesh

LENGTH, HEIGHT, U_MAX, NU = 2.0, 1.0, 1.5, 0.1


def channel(level=3, seed=0):
    """[0, 2] x [0, 1] with interior points moved at random; boundaries inlet, outlet, walls."""
    sk = skfem.MeshTri1.init_tensor(np.linspace(0, LENGTH, 2 ** level * 2 + 1), np.linspace(0, HEIGHT, 2 ** level + 1))
    points = sk.p.copy()
    interior = np.setdiff1d(np.arange(sk.nvertices), sk.boundary_nodes())
    h = HEIGHT / 2 ** level
    points[:, interior] += np.random.default_rng(seed).uniform(-0.2 * h, 0.2 * h, (2, len(interior)))
    sk = dataclasses.replace(sk, doflocs=points).with_boundaries({
        "inlet": lambda x: np.isclose(x[0], 0), "outlet": lambda x: np.isclose(x[0], LENGTH),
        "walls": lambda x: np.isclose(x[1], 0) | np.isclose(x[1], HEIGHT)})
    return Mesh.from_skfem(sk)


def poiseuille(x, t=0.0):
    return parabolic_inflow(U_MAX, HEIGHT)(x, t)


def poiseuille_pressure(points):
    """Linear pressure, zero at the do-nothing outlet: dp/dx = -8 nu U_max / H^2."""
    return 8 * NU * U_MAX / HEIGHT ** 2 * (LENGTH - points[:, 0])


def test_poiseuille_flow_is_reproduced_exactly_by_time_stepping():
    mesh = channel()
    result = navier_stokes(mesh, NU, dt=0.05, t_end=0.2, inflow={"inlet": poiseuille}, no_slip=["walls"])
    assert result.velocity.shape == (5, mesh.num_points, 2) and result.pressure.shape == (5, mesh.num_points)
    assert np.allclose(result.times, [0.0, 0.05, 0.1, 0.15, 0.2])
    assert np.abs(result.velocity - poiseuille(mesh.points.T).T).max() < 1e-12
    assert np.abs(result.pressure - poiseuille_pressure(mesh.points)).max() < 1e-11
    assert result.force is None


def test_volume_force_of_couette_flow_on_its_walls_is_exact():
    # u = (U y / H, 0), p = 0 solves Navier-Stokes; the bottom wall feels the shear nu U / H over its length
    sk = channel().to_skfem()
    mesh = Mesh.from_skfem(sk.with_boundaries({
        "bottom": lambda x: np.isclose(x[1], 0), "top": lambda x: np.isclose(x[1], HEIGHT),
        "sides": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], LENGTH)}))
    couette = {"top": (U_MAX, 0.0), "sides": lambda x, t: np.stack([U_MAX * x[1] / HEIGHT, 0 * x[1]])}
    for wall, sign in (("bottom", 1.0), ("top", -1.0)):
        flow = steady_navier_stokes(mesh, NU, inflow=couette, no_slip=["bottom"], force_on=wall)
        np.testing.assert_allclose(flow.force, [sign * NU * U_MAX * LENGTH / HEIGHT, 0.0], rtol=0, atol=1e-12)


def test_stokes_drag_of_a_cylinder_moving_in_a_cylinder_converges_faster_with_curved_geometry():
    # inner cylinder (radius 1) moving at U = 1 inside a fixed one (radius k = 2): the Stokes drag per
    # unit length is F = -4 pi mu U / (ln k - (k^2 - 1) / (k^2 + 1)); nu = 1e6 makes convection negligible
    nu, k = 1e6, 2.0
    exact = -4 * np.pi * nu / (np.log(k) - (k ** 2 - 1) / (k ** 2 + 1))
    curved = {"inner": circle((0, 0), 1.0), "outer": circle((0, 0), k)}
    errors = {}
    for geometry, projections in (("straight", None), ("curved", curved)):
        for n in (4, 8):
            flow = steady_navier_stokes(annulus(n, 8 * n, r2=k), nu, inflow={"inner": (1.0, 0.0)}, no_slip=["outer"],
                                        force_on="inner", curved=projections)
            errors[geometry, n] = abs(flow.force[0] / exact - 1)
            assert abs(flow.force[1]) < 1e-9 * abs(exact)
    # measured relative errors: straight 1.9e-3, 2.2e-4; curved 8.5e-4, 6.3e-5
    assert errors["curved", 8] < 1e-4 and errors["straight", 8] > 3 * errors["curved", 8]
    assert np.log2(errors["curved", 4] / errors["curved", 8]) > 3.5


def test_poiseuille_flow_steady_converges_in_one_picard_step():
    mesh = channel()
    flow = steady_navier_stokes(mesh, NU, inflow={"inlet": poiseuille}, no_slip=["walls"])
    assert flow.iterations == 1
    assert np.abs(flow.velocity - poiseuille(mesh.points.T).T).max() < 1e-12
    assert np.abs(flow.pressure - poiseuille_pressure(mesh.points)).max() < 1e-11


def lid_driven_cavity(level=3):
    sk = skfem.MeshTri1().refined(level).with_boundaries({
        "lid": lambda x: np.isclose(x[1], 1.0),
        "sides": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 1) | np.isclose(x[1], 0)})
    return Mesh.from_skfem(sk)


def test_cavity_flow_is_discretely_divergence_free_with_zero_mean_pressure():
    mesh = lid_driven_cavity()
    flow = steady_navier_stokes(mesh, 0.01, inflow={"lid": (1.0, 0.0)}, no_slip=["sides"])
    system = TaylorHoodSystem(mesh.to_skfem(), 0.01)
    n2 = system.n2
    matrix = system.pattern.matrix(system.matrix_data(0.0, flow.dofs[:2 * n2]))
    divergence = matrix[2 * n2:] @ flow.dofs  # (div u, q) for every P1 q
    assert np.abs(divergence).max() < 1e-11
    assert abs((system.pressure_integrals * flow.dofs[2 * n2:]).sum()) < 1e-12
    assert flow.velocity[:, 0].min() < -0.1  # the return flow below the lid's vortex
    # Picard converges linearly; Re = 100 on this mesh takes a fixed count
    assert 5 < flow.iterations < 40


def taylor_green(nu):
    def velocity(x, t=0.0):
        decay = np.exp(-2 * nu * t)
        return np.stack([-np.cos(x[0]) * np.sin(x[1]) * decay, np.sin(x[0]) * np.cos(x[1]) * decay])
    return velocity


def test_bdf2_is_second_order_in_time_on_taylor_green_vortex():
    nu, final_time = 0.25, 1.0
    sk = skfem.MeshTri1.init_tensor(np.linspace(0, np.pi, 9), np.linspace(0, np.pi, 9)).with_defaults()
    mesh = Mesh.from_skfem(sk)
    exact = taylor_green(nu)

    def final_velocity(dt):
        steps = int(round(final_time / dt))
        result = navier_stokes(mesh, nu, dt=dt, t_end=final_time, inflow={name: exact for name in mesh.boundary},
                               initial_velocity=exact, save_every=steps)
        return result

    reference = final_velocity(0.00625)
    errors = [np.abs(final_velocity(dt).velocity[-1] - reference.velocity[-1]).max() for dt in (0.1, 0.05, 0.025)]
    assert np.log2(np.array(errors[:-1]) / errors[1:]).min() > 1.8  # measured 1.83, 2.00
    assert np.abs(reference.velocity[-1] - exact(mesh.points.T, final_time).T).max() < 1e-3  # measured 6.6e-4
    pressure = -(np.cos(2 * mesh.points[:, 0]) + np.cos(2 * mesh.points[:, 1])) / 4 * np.exp(-4 * nu * final_time)
    assert np.abs(reference.pressure[-1] - pressure).max() < 1.2e-2  # measured 1.0e-2 (P1 pressure)


def test_restart_from_final_dofs_continues_the_run():
    mesh = lid_driven_cavity(2)
    kwargs = dict(inflow={"lid": (1.0, 0.0)}, no_slip=["sides"], dt=0.05)
    whole = navier_stokes(mesh, 0.01, t_end=0.4, **kwargs)
    first = navier_stokes(mesh, 0.01, t_end=0.2, **kwargs)
    n2 = (len(first.final_dofs) - mesh.num_points) // 2
    second = navier_stokes(mesh, 0.01, t_end=0.2, initial_velocity=first.final_dofs[:2 * n2], **kwargs)
    assert np.allclose(second.velocity[0], first.velocity[-1])
    # the restart begins with a backward Euler step, so it agrees to the splitting error only
    assert np.abs(second.velocity[-1] - whole.velocity[-1]).max() < 2e-3


def test_dfg_2d1_drag_lift_and_pressure_difference_on_a_coarse_mesh():
    result = dfg_2d1(h=0.05, h_cylinder=0.0125)
    straight = dfg_2d1(mesh=result.mesh, curved=False)
    # measured on this 690-point mesh: c_D 5.5775 (-0.04%), 5.5455 (-0.6%) with a polygonal cylinder;
    # c_L 0.01005; dp 0.11474 (-2.4%, P1 pressure at the stagnation point)
    assert abs(result.cd - REFERENCE_2D1["cd"]) < 0.001 * REFERENCE_2D1["cd"]
    assert abs(straight.cd - REFERENCE_2D1["cd"]) > 3 * abs(result.cd - REFERENCE_2D1["cd"])
    assert abs(result.cl - REFERENCE_2D1["cl"]) < 0.15 * REFERENCE_2D1["cl"]
    assert abs(result.dp - REFERENCE_2D1["dp"]) < 0.03 * REFERENCE_2D1["dp"]
    assert result.flow.velocity.shape == (result.mesh.num_points, 2)


def test_short_dfg_2d2_run_reuses_factorisations():
    mesh = dfg_2d1(h=0.08, h_cylinder=0.02).mesh
    result = navier_stokes(mesh, 1e-3, dt=0.005, t_end=0.1, inflow={"inlet": parabolic_inflow(1.5)},
                           no_slip=["walls", "cylinder"], force_on="cylinder", save_every=5)
    assert result.force.shape == (20, 2) and result.velocity.shape == (5, mesh.num_points, 2)
    assert result.factorisations < 10
    drag = 2 * result.force[:, 0] / 0.1
    # from the Stokes flow (c_D 0.77) the drag rises towards its periodic range around 3.2
    assert np.all(np.diff(drag) > 0) and 2.8 < drag[-1] < 3.2  # measured 3.00


def test_oscillation_period_and_peak_of_a_sampled_sine():
    t = np.arange(0, 2.0, 0.01)
    signal = 0.3 + np.sin(2 * np.pi * 3.1 * (t - 0.105) + np.pi / 2)  # peaks between samples
    assert oscillation_period(t, signal) == pytest.approx(1 / 3.1, rel=1e-4)
    one_peak = signal[:20]  # t < 0.2: the only maximum is at t = 0.105, between samples
    assert peak_value(one_peak) == pytest.approx(1.3, abs=5e-5)  # measured error 3.4e-5
    assert one_peak.max() < 1.3 - 4e-3  # the raw samples miss the peak by 4.7e-3
    with pytest.raises(FEMError, match="need 3"):
        oscillation_period(t[:50], signal[:50])


@pytest.mark.parametrize("kwargs, message", [
    (dict(inflow={"inflow": (1.0, 0.0)}), "no boundary named 'inflow'"),
    (dict(no_slip=["wall"]), "no_slip: no boundary named 'wall'"),
    (dict(force_on="cylinder"), "force_on: no boundary named 'cylinder'"),
    (dict(inflow={"inlet": (1.0, 0.0, 0.0)}), r"inflow\['inlet'\] must be a finite velocity"),
    (dict(inflow={"inlet": lambda x, t: np.full((2, x.shape[1]), np.nan)}), "must be a finite velocity"),
    (dict(initial_velocity=lambda x: x[:1]), "initial_velocity must give finite values of shape"),
    (dict(dt=0.0), "need dt > 0"),
])
def test_bad_input_raises_fem_error(kwargs, message):
    args = dict(dt=0.1, t_end=0.2, inflow={"inlet": poiseuille}, no_slip=["walls"])
    args.update(kwargs)
    with pytest.raises(FEMError, match=message):
        navier_stokes(channel(1), NU, **args)


def test_negative_viscosity_and_tet_meshes_are_rejected():
    with pytest.raises(FEMError, match="nu must be a positive"):
        steady_navier_stokes(channel(1), -1.0, inflow={"inlet": poiseuille})
    cube = Mesh.from_skfem(skfem.MeshTet1())
    with pytest.raises(FEMError, match="2D triangle mesh"):
        steady_navier_stokes(cube, 1.0)


def test_pressure_difference_is_read_half_a_period_after_the_last_usable_lift_peak():
    t = np.arange(0.0, 1.0, 0.001)
    frequency = 3.0
    lift = np.sin(2 * np.pi * frequency * t)
    dp = 2.0 + np.sin(2 * np.pi * frequency * t) + 0.1 * t  # half a period after a lift peak: 1 + 0.1 t
    np.testing.assert_allclose(lift_maxima(t, lift), [1 / 12, 5 / 12, 9 / 12], atol=1e-7)
    # the peak at 9/12 s is followed by half a period (1/6 s) inside [0, 0.999]: dp(11/12)
    value = pressure_difference_at_half_period(t, lift, dp, 1 / frequency)
    assert value == pytest.approx(1.0 + 0.1 * 11 / 12, abs=6e-5)  # linear interpolation: (2 pi f dt)^2 / 8 = 4.4e-5
    with pytest.raises(FEMError, match="half a period"):
        pressure_difference_at_half_period(t[:150], lift[:150], dp[:150], 1 / frequency)


def test_coarse_dfg_2d2_pressure_difference_is_near_the_published_interval():
    result = dfg_2d2(h=0.04, h_cylinder=0.01, dt=0.01, t_end=4.5, measure_from=3.5)
    low, high = REFERENCE_2D2["dp"]
    # measured 2.4755 on 1,022 points at dt = 0.01 (2.4459 at dt -> 0 on this mesh, 2.4529 at dt = 0.005:
    # the coarse mesh's dp is low by about 0.5%); the band is the interval widened by 1%
    assert 0.99 * low < result.dp < 1.01 * high
    assert result.pressure_difference.shape == result.times.shape


@pytest.mark.slow
def test_dfg_2d2_default_run_lies_inside_the_published_intervals():
    # measured on 3,873 points at dt = 0.0025: St 0.3020, c_D,max 3.2289, c_L,max 0.9907, dp 2.4751.
    # At dt -> 0 c_L,max converges to 0.986 on this and a 4x finer mesh (README, DFG 2D-2 convergence):
    # it is inside the interval only through BDF2's time error (+0.005), the other three converge inside.
    result = dfg_2d2()
    for name, (low, high) in REFERENCE_2D2.items():
        assert low <= getattr(result, name) <= high, (name, getattr(result, name))
