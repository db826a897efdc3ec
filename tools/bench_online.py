"""Benchmark of online training (Melissa-style) against offline training, and of the STNN against an
MLP of equal parameter count, on ``heat_parametric``.

1. A stored dataset of N training samples (+ 32 valid, 32 test) is generated.
2. STNN offline: trained on the stored samples for B seconds.
3. STNN online: trained for the same B seconds on samples that one simulator process streams into
   a bounded reservoir while training runs (nothing written to disk), validated on the same stored
   valid split.
4. An MLP of the STNN's parameter count, offline, for the same steps and schedule as the offline
   STNN (equal steps), and for B seconds on a schedule of its own (equal time: it is faster).
A run's learning rate decays over the steps it makes in B seconds (measured on a 10 s probe
first); the online run follows the offline STNN's schedule and stops at B seconds.

    python tools/bench_online.py          # N = 128, B = 60 s: about 6 minutes on 2 cores
    python tools/bench_online.py --full   # N = 512, B = 600 s

Prints one JSON object as the last line: online_val_error, offline_val_error (mean relative L2 on
the valid split at the end), trainer_wait_fraction (time the online trainer waited for data once
the buffer was full), disk_bytes_written (by the simulators and the trainer during online
training), stnn_rel_l2, mlp_rel_l2 (mean relative L2 on the test split; the MLP at equal steps),
mlp_rel_l2_equal_time, and more: the errors on
the 6 parameter triples outside the training ranges, parameter counts, steps, samples simulated
and drawn, the offline dataset's size on disk, the load average.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

#: samples the online buffer holds here (it fills within the budget)
BUFFER = 256


def _train(task, model, config, **kwargs):
    from meshsim.train import train

    return train(model, task.loss(), task.train_set, config, validate=task.validate(), **kwargs)


def _schedule(task, budget: float):
    """Exponential decay over the steps ``task``'s model makes in ``budget`` seconds (10 s probe)."""
    import torch

    from meshsim.train import TrainConfig

    torch.manual_seed(0)
    probe = _train(task, task.model(), TrainConfig(steps=10**6, batch_size=32, lr=1e-3, max_seconds=10.0,
                                                   progress=False))
    steps = max(100, int(probe.step * budget / 10.0))
    return TrainConfig(steps=steps, batch_size=32, lr=1e-3, lr_final=1e-5, max_seconds=budget,
                       val_every=max(1, steps // 10), progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="N = 512 stored samples, 600 s per run")
    args = parser.parse_args()
    from meshsim.threads import use_threads

    use_threads(1)
    import torch

    from meshsim.data import generate, load_recipe
    from meshsim.nn import count_parameters
    from meshsim.train.online import OnlineSettings, train_online
    from meshsim.train.stnn_task import STNNSettings, STNNTask

    count, budget = (512, 600.0) if args.full else (128, 60.0)
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench_online_"))
    try:
        recipe = load_recipe("heat_parametric").with_overrides(splits={"train": count, "valid": 32, "test": 32})
        started = time.perf_counter()
        generate(recipe, work / "data", workers=2, progress=False)
        generate_s = time.perf_counter() - started
        disk = sum(f.stat().st_size for f in (work / "data").iterdir())
        print(f"generated {count} + 64 samples in {generate_s:.1f} s ({disk / 1e6:.1f} MB)", flush=True)

        task = STNNTask(work / "data", STNNSettings())
        config = _schedule(task, budget)
        steps = config.steps
        print(f"schedule: {steps} steps in at most {budget:g} s", flush=True)

        torch.manual_seed(0)
        stnn = task.model()
        offline = _train(task, stnn, config)
        stnn_test = task.evaluate(stnn)
        print(f"offline STNN: {offline.step} steps, valid rel L2 {offline.validation[-1]['val/rel_l2']:.4f}", flush=True)

        torch.manual_seed(0)
        online_model = task.model()
        online = train_online(online_model, task, recipe, config, OnlineSettings(simulators=1, buffer=BUFFER),
                              validate=task.validate())
        stats = online.stats
        print(f"online STNN: {online.train.step} steps, valid rel L2 {online.train.validation[-1]['val/rel_l2']:.4f}, "
              f"{stats['produced']} samples simulated, {stats['unique_drawn']} drawn at least once", flush=True)

        mlp_task = STNNTask(work / "data", STNNSettings(model="mlp"))
        torch.manual_seed(0)
        mlp = mlp_task.model()
        mlp_run = _train(mlp_task, mlp, dataclasses.replace(config, max_seconds=3 * budget))
        mlp_test = mlp_task.evaluate(mlp)
        torch.manual_seed(0)
        timed_mlp = mlp_task.model()
        timed_run = _train(mlp_task, timed_mlp, _schedule(mlp_task, budget))
        timed_test = mlp_task.evaluate(timed_mlp)
        print(f"MLP: {mlp_run.step} steps, test rel L2 {mlp_test['rel_l2']:.4f}; {timed_run.step} steps in {budget:g} s: "
              f"{timed_test['rel_l2']:.4f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({
        "online_val_error": round(online.train.validation[-1]["val/rel_l2"], 5),
        "offline_val_error": round(offline.validation[-1]["val/rel_l2"], 5),
        "trainer_wait_fraction": round(stats["wait_fraction_after_full"], 5),
        "disk_bytes_written": stats["written_bytes"] + online.trainer_written_bytes,
        "stnn_rel_l2": round(stnn_test["rel_l2"], 5), "mlp_rel_l2": round(mlp_test["rel_l2"], 5),
        "stnn_rel_l2_outside": round(stnn_test["rel_l2_outside"], 5),
        "mlp_rel_l2_outside": round(mlp_test["rel_l2_outside"], 5),
        "mlp_rel_l2_equal_time": round(timed_test["rel_l2"], 5), "mlp_steps_equal_time": timed_run.step,
        "stnn_parameters": count_parameters(stnn), "mlp_parameters": count_parameters(mlp),
        "offline_steps": offline.step, "online_steps": online.train.step, "mlp_steps": mlp_run.step,
        "scheduled_steps": steps, "budget_s": budget, "offline_samples": count,
        "online_samples_simulated": stats["produced"], "online_unique_drawn": stats["unique_drawn"],
        "online_wait_s": round(stats["wait_s"], 2), "buffer": BUFFER, "offline_disk_bytes": disk,
        "generate_s": round(generate_s, 1), "load_average_1m_start": round(load_start, 2),
        "load_average_1m": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
