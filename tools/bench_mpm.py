"""MLS-MPM backends on this machine: meshsim's numba and numpy backends against a torch port and
JIT ports in taichi and warp-lang (installed only for this measurement), one thread each.

    python tools/bench_mpm.py            # water blocks of 10k and 50k particles, 128^2 grid
    python tools/bench_mpm.py --full     # also 200k particles

Every port does the same substep as meshsim.sim.mpm for water (F update, J = det F, F reset to
sqrt(J) I, pressure, APIC scatter of the 3 x 3 stencil, grid update with sticky walls, gather,
advection) in float64; a port whose library is missing is reported as null. The other materials
need the closed-form 2x2 SVD, which only meshsim's backends implement.
The last line is one JSON object: ``{backend}_substeps_per_s_{10k,50k}`` and ``fastest``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

from meshsim.sim.mpm import MPMConfig, ParticleState, advance, block  # noqa: E402


def water_state(n: int, config: MPMConfig) -> ParticleState:
    side = math.sqrt(n) * 0.5 * config.dx
    x = block((0.08, 0.08), (side, side), config, np.random.default_rng(0))
    return ParticleState.at_rest(x, "water", v=(0.5, -0.5))


def rate(step, substeps: int, repeats: int = 3) -> float:
    """Substeps per second: best of ``repeats`` runs of ``substeps`` (after one warm-up call)."""
    step(1)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        step(substeps)
        best = min(best, time.perf_counter() - start)
    return substeps / best


def meshsim_backend(state, config, backend):
    cfg = MPMConfig(backend=backend)
    holder = {"s": state}

    def step(k):
        holder["s"] = advance(holder["s"], cfg, k)
    return step


def torch_port(state, config):
    """The numpy backend's water substep written with torch ops (index_add_ for the scatter)."""
    import torch

    torch.set_num_threads(1)
    n = config.n_grid
    dt, p_mass, p_vol = config.dt, config.p_mass, config.p_vol
    _, la0 = config.lame
    x, v = torch.tensor(state.x), torch.tensor(state.v)
    C, F = torch.tensor(state.C), torch.tensor(state.F)
    offsets = torch.tensor([[i, j] for i in range(3) for j in range(3)], dtype=torch.float64)
    gravity = torch.tensor(config.gravity, dtype=torch.float64)
    idx = torch.arange(n)
    low = (idx < config.wall_cells)
    high = (idx > n - config.wall_cells)

    def stencil(x):
        scaled = x * n
        base = torch.floor(scaled - 0.5)
        fx = scaled - base
        w = torch.stack([0.5 * (1.5 - fx) ** 2, 0.75 - (fx - 1) ** 2, 0.5 * (fx - 0.5) ** 2])  # (3, N, 2)
        wij = (w[:, None, :, 0] * w[None, :, :, 1]).reshape(9, -1)  # (9, N)
        cells = ((base[None, :, 0] + offsets[:, 0, None]) * n + base[None, :, 1] + offsets[:, 1, None]).long()
        return fx, wij, cells

    def substep():
        nonlocal x, v, C, F
        F = F + dt * C @ F
        J = F[:, 0, 0] * F[:, 1, 1] - F[:, 0, 1] * F[:, 1, 0]
        F = torch.sqrt(J.abs())[:, None, None] * torch.eye(2, dtype=torch.float64)
        stress = (la0 * J * (J - 1))[:, None, None] * torch.eye(2, dtype=torch.float64)
        affine = (-dt * p_vol * 4 * n * n) * stress + p_mass * C
        fx, wij, cells = stencil(x)
        dpos = (offsets[:, None, :] - fx[None]) / n  # (9, N, 2)
        mom = wij[..., None] * (p_mass * v[None] + torch.einsum("nij,knj->kni", affine, dpos))
        grid_m = torch.zeros(n * n, dtype=torch.float64).index_add_(0, cells.reshape(-1), (wij * p_mass).reshape(-1))
        grid_p = torch.zeros(n * n, 2, dtype=torch.float64).index_add_(0, cells.reshape(-1), mom.reshape(-1, 2))
        gv = torch.where(grid_m[:, None] > 0, grid_p / grid_m.clamp(min=1e-300)[:, None] + dt * gravity, 0.0)
        gv = gv.reshape(n, n, 2)
        into = ((low[:, None] & (gv[..., 0] < 0)) | (high[:, None] & (gv[..., 0] > 0))
                | (low[None, :] & (gv[..., 1] < 0)) | (high[None, :] & (gv[..., 1] > 0)))
        gv = torch.where(into[..., None], 0.0, gv).reshape(n * n, 2)
        g = gv[cells]  # (9, N, 2)
        v = (wij[..., None] * g).sum(0)
        C = 4 * n * torch.einsum("kn,kni,knj->nij", wij, g, offsets[:, None, :] - fx[None])
        x = x + dt * v

    def step(k):
        for _ in range(k):
            substep()
    return step


def taichi_port(state, config):
    import taichi as ti

    ti.init(arch=ti.cpu, cpu_max_num_threads=1, default_fp=ti.f64, log_level=ti.ERROR)
    n, num = config.n_grid, state.num_particles
    dt, p_mass, p_vol = config.dt, config.p_mass, config.p_vol
    _, la0 = config.lame
    walls, gy = config.wall_cells, config.gravity[1]
    x = ti.Vector.field(2, ti.f64, num)
    v = ti.Vector.field(2, ti.f64, num)
    C = ti.Matrix.field(2, 2, ti.f64, num)
    F = ti.Matrix.field(2, 2, ti.f64, num)
    grid_v = ti.Vector.field(2, ti.f64, (n, n))
    grid_m = ti.field(ti.f64, (n, n))
    x.from_numpy(state.x)
    v.from_numpy(state.v)
    C.from_numpy(state.C)
    F.from_numpy(state.F)

    @ti.kernel
    def substep():
        for i, j in grid_m:
            grid_v[i, j] = [0.0, 0.0]
            grid_m[i, j] = 0.0
        ti.loop_config(serialize=True)
        for p in x:
            base = ti.floor(x[p] * n - 0.5, int)
            fx = x[p] * n - base
            w = [0.5 * (1.5 - fx) ** 2, 0.75 - (fx - 1) ** 2, 0.5 * (fx - 0.5) ** 2]
            Fp = (ti.Matrix.identity(ti.f64, 2) + dt * C[p]) @ F[p]
            J = Fp[0, 0] * Fp[1, 1] - Fp[0, 1] * Fp[1, 0]
            F[p] = ti.Matrix.identity(ti.f64, 2) * ti.sqrt(ti.abs(J))
            stress = (-dt * p_vol * 4 * n * n) * ti.Matrix.identity(ti.f64, 2) * la0 * J * (J - 1)
            affine = stress + p_mass * C[p]
            for i, j in ti.static(ti.ndrange(3, 3)):
                offset = ti.Vector([i, j])
                dpos = (offset - fx) / n
                weight = w[i][0] * w[j][1]
                grid_v[base + offset] += weight * (p_mass * v[p] + affine @ dpos)
                grid_m[base + offset] += weight * p_mass
        for i, j in grid_m:
            if grid_m[i, j] > 0:
                gv = grid_v[i, j] / grid_m[i, j] + dt * ti.Vector([0.0, gy])
                into = ((i < walls and gv[0] < 0) or (i > n - walls and gv[0] > 0)
                        or (j < walls and gv[1] < 0) or (j > n - walls and gv[1] > 0))
                if into:
                    gv = ti.Vector([0.0, 0.0])
                grid_v[i, j] = gv
        for p in x:
            base = ti.floor(x[p] * n - 0.5, int)
            fx = x[p] * n - base
            w = [0.5 * (1.5 - fx) ** 2, 0.75 - (fx - 1) ** 2, 0.5 * (fx - 0.5) ** 2]
            new_v = ti.Vector.zero(ti.f64, 2)
            new_C = ti.Matrix.zero(ti.f64, 2, 2)
            for i, j in ti.static(ti.ndrange(3, 3)):
                dpos = ti.Vector([i, j]) - fx
                g_v = grid_v[base + ti.Vector([i, j])]
                weight = w[i][0] * w[j][1]
                new_v += weight * g_v
                new_C += 4 * n * weight * g_v.outer_product(dpos)
            v[p], C[p] = new_v, new_C
            x[p] += dt * v[p]

    def step(k):
        for _ in range(k):
            substep()
        ti.sync()
    return step


def warp_port(state, config):
    import warp as wp

    wp.config.quiet = True
    wp.init()
    n = config.n_grid
    dt, p_mass, p_vol = config.dt, config.p_mass, config.p_vol
    la0, walls, gy = config.lame[1], config.wall_cells, config.gravity[1]
    scale = -dt * p_vol * 4.0 * n * n

    @wp.kernel
    def p2g(x: wp.array(dtype=wp.vec2d), v: wp.array(dtype=wp.vec2d), C: wp.array(dtype=wp.mat22d),
            F: wp.array(dtype=wp.mat22d), gm: wp.array2d(dtype=wp.float64), gp: wp.array2d(dtype=wp.vec2d)):
        p = wp.tid()
        fn = wp.float64(n)
        Fp = (wp.identity(2, dtype=wp.float64) + wp.float64(dt) * C[p]) @ F[p]
        J = Fp[0, 0] * Fp[1, 1] - Fp[0, 1] * Fp[1, 0]
        F[p] = wp.identity(2, dtype=wp.float64) * wp.sqrt(wp.abs(J))
        pressure = wp.float64(scale * la0) * J * (J - wp.float64(1.0))
        affine = wp.identity(2, dtype=wp.float64) * pressure + wp.float64(p_mass) * C[p]
        bx, by = wp.floor(x[p][0] * fn - wp.float64(0.5)), wp.floor(x[p][1] * fn - wp.float64(0.5))
        fx, fy = x[p][0] * fn - bx, x[p][1] * fn - by
        wx = wp.vec3d(wp.float64(0.5) * (wp.float64(1.5) - fx) ** wp.float64(2.0), wp.float64(0.75) - (fx - wp.float64(1.0)) ** wp.float64(2.0), wp.float64(0.5) * (fx - wp.float64(0.5)) ** wp.float64(2.0))
        wy = wp.vec3d(wp.float64(0.5) * (wp.float64(1.5) - fy) ** wp.float64(2.0), wp.float64(0.75) - (fy - wp.float64(1.0)) ** wp.float64(2.0), wp.float64(0.5) * (fy - wp.float64(0.5)) ** wp.float64(2.0))
        for i in range(3):
            for j in range(3):
                w = wx[i] * wy[j]
                dpos = wp.vec2d((wp.float64(i) - fx) / fn, (wp.float64(j) - fy) / fn)
                gi = wp.int32(bx) + wp.int32(i)
                gj = wp.int32(by) + wp.int32(j)
                contribution = v[p] * wp.float64(p_mass) + affine @ dpos
                wp.atomic_add(gp, gi, gj, contribution * w)
                wp.atomic_add(gm, gi, gj, w * wp.float64(p_mass))

    @wp.kernel
    def grid(gm: wp.array2d(dtype=wp.float64), gp: wp.array2d(dtype=wp.vec2d)):
        i, j = wp.tid()
        if gm[i, j] > wp.float64(0.0):
            gv = gp[i, j] / gm[i, j] + wp.vec2d(wp.float64(0.0), wp.float64(dt * gy))
            if (i < walls and gv[0] < wp.float64(0.0)) or (i > n - walls and gv[0] > wp.float64(0.0)) or (
                    j < walls and gv[1] < wp.float64(0.0)) or (j > n - walls and gv[1] > wp.float64(0.0)):
                gv = wp.vec2d(wp.float64(0.0), wp.float64(0.0))
            gp[i, j] = gv

    @wp.kernel
    def g2p(x: wp.array(dtype=wp.vec2d), v: wp.array(dtype=wp.vec2d), C: wp.array(dtype=wp.mat22d),
            gp: wp.array2d(dtype=wp.vec2d)):
        p = wp.tid()
        fn = wp.float64(n)
        bx, by = wp.floor(x[p][0] * fn - wp.float64(0.5)), wp.floor(x[p][1] * fn - wp.float64(0.5))
        fx, fy = x[p][0] * fn - bx, x[p][1] * fn - by
        wx = wp.vec3d(wp.float64(0.5) * (wp.float64(1.5) - fx) ** wp.float64(2.0), wp.float64(0.75) - (fx - wp.float64(1.0)) ** wp.float64(2.0), wp.float64(0.5) * (fx - wp.float64(0.5)) ** wp.float64(2.0))
        wy = wp.vec3d(wp.float64(0.5) * (wp.float64(1.5) - fy) ** wp.float64(2.0), wp.float64(0.75) - (fy - wp.float64(1.0)) ** wp.float64(2.0), wp.float64(0.5) * (fy - wp.float64(0.5)) ** wp.float64(2.0))
        nv = wp.vec2d()
        nc = wp.mat22d()
        for i in range(3):
            for j in range(3):
                w = wx[i] * wy[j]
                g = gp[wp.int32(bx) + wp.int32(i), wp.int32(by) + wp.int32(j)]
                nv += w * g
                nc += wp.float64(4.0) * fn * w * wp.outer(g, wp.vec2d(wp.float64(i) - fx, wp.float64(j) - fy))
        v[p] = nv
        C[p] = nc
        x[p] = x[p] + wp.float64(dt) * nv

    arrays = {k: wp.array(getattr(state, k), dtype=t, device="cpu")
              for k, t in (("x", wp.vec2d), ("v", wp.vec2d), ("C", wp.mat22d), ("F", wp.mat22d))}
    gm = wp.zeros((n, n), dtype=wp.float64, device="cpu")
    gp = wp.zeros((n, n), dtype=wp.vec2d, device="cpu")

    def step(k):
        for _ in range(k):
            gm.zero_()
            gp.zero_()
            wp.launch(p2g, dim=state.num_particles, inputs=[arrays["x"], arrays["v"], arrays["C"], arrays["F"], gm, gp],
                      device="cpu")
            wp.launch(grid, dim=(n, n), inputs=[gm, gp], device="cpu")
            wp.launch(g2p, dim=state.num_particles, inputs=[arrays["x"], arrays["v"], arrays["C"], gp], device="cpu")
        wp.synchronize()
    return step


PORTS = {"numba": lambda s, c: meshsim_backend(s, c, "numba"), "numpy": lambda s, c: meshsim_backend(s, c, "numpy"),
         "torch": torch_port, "taichi": taichi_port, "warp": warp_port}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also 200k particles")
    parser.add_argument("--substeps", type=int, default=20, help="substeps per timed run")
    args = parser.parse_args(argv)
    config = MPMConfig()
    sizes = {"10k": 10_000, "50k": 50_000} | ({"200k": 200_000} if args.full else {})
    result = {}
    for label, count in sizes.items():
        state = water_state(count, config)
        for name, port in PORTS.items():
            try:
                step = port(state, config)
            except ImportError as error:
                print(f"{name}: not installed ({error})")
                result[f"{name}_substeps_per_s_{label}"] = None
                continue
            value = rate(step, args.substeps)
            result[f"{name}_substeps_per_s_{label}"] = round(value, 2)
            print(f"{label} ({state.num_particles} particles) {name}: {value:.1f} substeps/s", flush=True)
    rates = {name: result[f"{name}_substeps_per_s_50k"] or 0.0 for name in PORTS}
    result["fastest"] = max(rates, key=rates.get)
    result["load_average"] = os.getloadavg()[0]
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
