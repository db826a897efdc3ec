"""The shipped MP-PDE checkpoints (E1, nx = 40 and 50) against WENO5 on the paper's protocol.

Regenerates the 128 test trajectories of the recipe ``mppde_E1`` (seed 0: the test split the
checkpoints were validated and tested against; WENO5 + Dormand-Prince at nx = 200 on the paper's
grid), filters them to nx = 40 and 50 with the paper's 5-tap filter, rolls out the checkpoints
``tutorials/checkpoints/mppde_E1_nx40.pth`` and ``..._nx50.pth`` from the true frames 25-49, and
solves WENO5 directly on each coarse grid (the paper's baseline). Errors are the accumulated error
over 7 bundles (frames 50-224, what the paper's table matches) and 8 bundles (frames 50-249).
Published (E1): MP-PDE 1.67 / 1.47, WENO5 6.23 / 9.63 at nx = 50 / 40. A few minutes on 2 cores.

Run: ``python tools/verify_mppde.py`` (prints one JSON object as the last line).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

CHECKPOINTS = Path(__file__).resolve().parents[1] / "tutorials" / "checkpoints"
PUBLISHED = {"mppde_nx40": 1.47, "mppde_nx50": 1.67, "weno5_nx40": 9.63, "weno5_nx50": 6.23, "mppde_nx100": 1.55,
             "weno5_nx100": 2.02}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-test", type=int, default=128, help="test trajectories (default 128, the paper's)")
    parser.add_argument("--data", type=Path, help="keep the regenerated trajectories in this folder (reused "
                                                   "when run again); default: a temporary folder")
    parser.add_argument("--checkpoints", type=Path, default=CHECKPOINTS, help="folder of mppde_E1_nx{40,50}.pth")
    parser.add_argument("--resolutions", type=lambda text: tuple(int(v) for v in text.split(",")), default=(40, 50),
                        help="comma list of nx whose checkpoints to evaluate (default 40,50)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    from meshsim.data import generate, load_recipe
    from meshsim.train.mppde_data import load_grid_data, rollout_errors, weno5_baseline
    from meshsim.train.mppde_task import load_exported_model

    torch.set_num_threads(1)
    began = time.perf_counter()
    recipe = load_recipe("mppde_E1").with_overrides(splits={"train": 1, "test": args.num_test})
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.data or Path(scratch) / "mppde_E1_test"
        generate(recipe, folder, progress=False)
        print(f"regenerated {args.num_test} test trajectories in {time.perf_counter() - began:.0f} s", flush=True)
        out = {}
        for nx in args.resolutions:
            model, settings, info = load_exported_model(args.checkpoints / f"mppde_E1_nx{nx}.pth")
            data = load_grid_data(folder, "test", nx, settings.neighbours, settings.periodic,
                                  dtype=settings.torch_dtype)
            clock = time.perf_counter()
            errors = rollout_errors(model, data, batch_size=len(data.u))[1]
            mppde_s = (time.perf_counter() - clock) / len(data.u)
            weno, weno_s = weno5_baseline(data, model.time_window)
            out |= {f"mppde_nx{nx}": errors[7], f"weno5_nx{nx}": weno[7], f"mppde_nx{nx}_8": errors[8],
                    f"weno5_nx{nx}_8": weno[8], f"mppde_s_per_trajectory_nx{nx}": mppde_s,
                    f"weno5_s_per_trajectory_nx{nx}": weno_s, f"steps_nx{nx}": info.get("steps"),
                    f"deviations_nx{nx}": ", ".join(settings.deviations) or "none"}
            print(f"nx={nx}: MP-PDE {errors[7]:.3f} / {errors[8]:.3f}, WENO5 {weno[7]:.3f} / {weno[8]:.3f} "
                  f"(7 / 8 bundles; published {PUBLISHED.get(f'mppde_nx{nx}')} and {PUBLISHED.get(f'weno5_nx{nx}')})",
                  flush=True)
    out |= {"num_test": args.num_test, "runtime_s": time.perf_counter() - began, "load_average": os.getloadavg()[0]}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
