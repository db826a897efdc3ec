"""Online training of a parametric surrogate: STNN on heat_parametric, offline vs online, AdamW vs SOAP.

The STNN (Wagner 2023: stacked tensor-train networks, mixed by softmax weights of the parameters)
maps a parameter triple (channel height, bump height, diffusivity) of meshsim's ``heat_parametric``
recipe to the solution tensor (t, y, x). It is trained

(a) offline, on a stored dataset of N samples, for B seconds;
(b) online for the same B seconds, on samples that a simulator process solves while training runs
    and streams into a bounded in-memory reservoir (Melissa's policy: Meyer et al., "Training Deep
    Surrogate Models with Large Scale Online Learning", ICML 2023); nothing is written to disk;
(c) offline with SOAP (Vyas et al. 2024, pytorch-optimizer's) instead of AdamW, for the same number
    of steps: the step at which it reaches AdamW's final validation loss;

and compared with an MLP of the STNN's parameter count and with POD + MLP (offline, B seconds each).
Both online and offline runs follow the learning-rate schedule of the steps the offline run makes
in B seconds (measured on a short probe) and validate on the same stored valid split; errors are
relative L2 on the test split and on 6 held-out parameter triples outside the training ranges.

    python tutorials/online_training.py --out online-out          # default budget, about 25 minutes
    python tutorials/online_training.py --full --out online-full  # N = 2048, B = 1 hour per run
    python tutorials/online_training.py --smoke --out /tmp/online # seconds: checks the pipeline

Writes ``results.json`` (the table, every figure and the settings) and the run folders (``runs/``)
and dataset (``data/``) to ``--out``.
"""
from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from _tutorial_cli import start, tutorial_parser, write_results

from meshsim.data import generate, load_recipe
from meshsim.nn import count_parameters
from meshsim.train import TrainConfig, train
from meshsim.train.online import OnlineSettings, train_online
from meshsim.train.stnn_task import STNNSettings, STNNTask

PUBLISHED = {
    "melissa": "online vs offline training at equal budget, relative accuracy gain: +68% fully connected "
               "network, +16% FNO, +7% MP-PDE (Meyer et al., ICML 2023; datasets up to hundreds of GB)",
    "soap": "SOAP vs AdamW: over 40% fewer iterations and over 35% less wall-clock time to the same loss "
            "(Vyas et al. 2024, language-model pre-training at 360M and 660M parameters)",
}


@dataclass(frozen=True)
class Budget:
    """N stored training samples (+ valid, test), B seconds per run, the online buffer, recipe
    parameter overrides (``params``), STNN settings overrides (``stnn``), generation ``workers``, the
    simulators' ``start_method``."""

    name: str
    num_train: int
    num_valid: int
    num_test: int
    seconds: float
    buffer: int
    probe_seconds: float = 10.0
    workers: int = 2
    start_method: str = "forkserver"
    params: dict = field(default_factory=dict)
    stnn: dict = field(default_factory=dict)
    batch_size: int = 32
    lr: float = 1e-3
    lr_final: float = 1e-5


BUDGETS = {
    "smoke": Budget("smoke", 8, 4, 4, seconds=1.0, buffer=16, probe_seconds=0.3, workers=1, start_method="fork",
                    params={"nx": 8, "ny": 4, "num_steps": 4, "save_every": 2},
                    stnn={"num_experts": 2, "rank": 2, "in_modes": (2, 2, 2), "hidden_dim": 8, "pod_modes": 2},
                    batch_size=4),
    # measured on the 2-core machine: about 20 samples/s from one simulator process, 10-20 STNN steps/s
    "default": Budget("default", 256, 32, 32, seconds=240.0, buffer=1000),
    "full": Budget("full", 2048, 128, 128, seconds=3600.0, buffer=5000),
}


def _final(result) -> dict:
    return {k[4:]: v for k, v in result.validation[-1].items() if k.startswith("val/")}


def _run_record(task: STNNTask, model, result, seconds: float, **extra) -> dict:
    metrics = task.evaluate(model, "test")
    return {"steps": result.step, "seconds": seconds, "val": _final(result), "test_rel_l2": metrics["rel_l2"],
            "outside_rel_l2": metrics["rel_l2_outside"], "parameters": count_parameters(model),
            "validation": [{"step": r["step"], "rel_l2": r["val/rel_l2"], "mse": r["val/mse"]}
                           for r in result.validation], **extra}


def _schedule(task: STNNTask, budget: Budget, seed: int) -> TrainConfig:
    """The run's configuration: exponential decay over the steps the model makes in ``budget.seconds``
    (its rate measured on a probe of ``budget.probe_seconds``), stopping at ``budget.seconds``."""
    torch.manual_seed(seed)
    probe = train(task.model(), task.loss(), task.train_set,
                  TrainConfig(steps=10**7, batch_size=budget.batch_size, lr=budget.lr, seed=seed,
                              max_seconds=budget.probe_seconds, progress=False))
    steps = max(20, int(probe.step * budget.seconds / budget.probe_seconds))
    return TrainConfig(steps=steps, batch_size=budget.batch_size, lr=budget.lr, lr_final=budget.lr_final, seed=seed,
                       max_seconds=budget.seconds, val_every=max(1, steps // 20), checkpoint_every=steps,
                       progress=False)


def _offline(task: STNNTask, config: TrainConfig, run_dir: Path, seed: int) -> tuple:
    torch.manual_seed(seed)
    model = task.model()
    began = time.perf_counter()
    result = train(model, task.loss(), task.train_set, config, run_dir=run_dir, validate=task.validate(),
                   extra_config={"task": "stnn", "settings": dataclasses.asdict(task.settings)})
    return model, result, time.perf_counter() - began


def run(budget: Budget, out: Path, seed: int) -> dict:
    began = time.perf_counter()
    recipe = load_recipe("heat_parametric").with_overrides(
        seed=seed, splits={"train": budget.num_train, "valid": budget.num_valid, "test": budget.num_test},
        params=budget.params)
    data = out / "data"
    generate(recipe, data, workers=budget.workers, progress=False)
    generate_s = time.perf_counter() - began
    disk = sum(f.stat().st_size for f in data.iterdir())
    print(f"dataset: {recipe.splits} in {generate_s:.0f} s, {disk / 1e6:.1f} MB on disk", flush=True)
    settings = STNNSettings(**budget.stnn)
    task = STNNTask(data, settings)
    runs = out / "runs"
    shutil.rmtree(runs, ignore_errors=True)  # every run starts afresh: a time budget cannot be resumed fairly
    config = _schedule(task, budget, seed)
    steps = config.steps
    print(f"schedule: {steps} steps, at most {budget.seconds:g} s per run", flush=True)

    model, result, seconds = _offline(task, config, runs / "offline", seed)
    offline = _run_record(task, model, result, seconds, unique_samples=budget.num_train, disk_bytes=disk)
    print(f"offline: {offline['steps']} steps, valid rel L2 {offline['val']['rel_l2']:.4f}", flush=True)

    torch.manual_seed(seed)
    model = task.model()
    began_online = time.perf_counter()
    streamed = train_online(model, task, recipe, config, OnlineSettings(simulators=1, buffer=budget.buffer,
                                                                     start_method=budget.start_method),
                            run_dir=runs / "online", validate=task.validate(),
                            extra_config={"task": "stnn", "settings": dataclasses.asdict(settings)})
    stats = streamed.stats
    online = _run_record(task, model, streamed.train, time.perf_counter() - began_online,
                         unique_samples=stats["unique_drawn"], simulated=stats["produced"],
                         disk_bytes=stats["written_bytes"], trainer_written_bytes=streamed.trainer_written_bytes,
                         wait_s=stats["wait_s"], wait_fraction_after_full=stats["wait_fraction_after_full"],
                         drawn=stats["drawn"], buffer=budget.buffer, restarts=stats["restarts"])
    print(f"online: {online['steps']} steps, valid rel L2 {online['val']['rel_l2']:.4f}, "
          f"{stats['produced']} samples simulated", flush=True)

    soap_config = dataclasses.replace(config, optimizer="soap", steps=offline["steps"], max_seconds=3 * budget.seconds,
                                      val_every=max(1, offline["steps"] // 20))
    model, result, seconds = _offline(task, soap_config, runs / "offline-soap", seed)
    soap = _run_record(task, model, result, seconds)
    target = offline["val"]["mse"]
    reached = [r["step"] for r in soap["validation"] if r["mse"] <= target]
    soap["steps_to_adamw_final"] = reached[0] if reached else None
    print(f"SOAP: valid MSE {soap['val']['mse']:.3g} vs AdamW {target:.3g}; reaches it at step "
          f"{soap['steps_to_adamw_final']}", flush=True)

    baselines = {}
    for name in ("mlp", "pod"):
        baseline = STNNTask(data, dataclasses.replace(settings, model=name))
        model, result, seconds = _offline(baseline, _schedule(baseline, budget, seed), runs / f"offline-{name}", seed)
        baselines[name] = _run_record(baseline, model, result, seconds)
        print(f"{name}: {baselines[name]['steps']} steps, test rel L2 {baselines[name]['test_rel_l2']:.4f}", flush=True)
    return {"budget": dataclasses.asdict(budget), "seed": seed, "published": PUBLISHED, "scheduled_steps": steps,
            "generate_s": generate_s, "offline": offline, "online": online, "soap": soap, **baselines,
            "runtime_s": time.perf_counter() - began}


def table(results: dict) -> str:
    rows = [("STNN offline (AdamW)", results["offline"]), ("STNN online (AdamW)", results["online"]),
            ("STNN offline (SOAP)", results["soap"]), ("MLP, same parameters", results["mlp"]),
            ("POD + MLP", results["pod"])]
    lines = [f"{'model':<22}{'params':>8}{'steps':>8}{'s':>6}{'unique':>8}{'disk MB':>9}{'valid':>9}{'test':>9}"
             f"{'outside':>9}"]
    for name, r in rows:
        unique = r.get("unique_samples", results["budget"]["num_train"])
        disk = r.get("disk_bytes", results["offline"]["disk_bytes"]) / 1e6  # the offline runs share one dataset
        lines.append(f"{name:<22}{r['parameters']:>8}{r['steps']:>8}{r['seconds']:>6.0f}{unique:>8}{disk:>9.1f}"
                     f"{r['val']['rel_l2']:>9.4f}{r['test_rel_l2']:>9.4f}{r['outside_rel_l2']:>9.4f}")
    offline, online, soap = results["offline"], results["online"], results["soap"]
    gain = 1 - online["val"]["rel_l2"] / offline["val"]["rel_l2"]
    lines.append("(relative L2 errors: valid and test splits, 6 triples outside the training ranges)")
    lines.append(f"online vs offline at {results['budget']['seconds']:g} s each: {100 * gain:+.0f}% validation "
                 f"accuracy; {online['simulated']} samples simulated, {online['unique_samples']} drawn, trainer "
                 f"waited {100 * online['wait_fraction_after_full']:.1f}% of the time after the buffer filled; "
                 f"training data on disk {offline['disk_bytes'] / 1e6:.1f} MB offline, "
                 f"{online['disk_bytes']} bytes online")
    lines.append(f"  published (Melissa): {PUBLISHED['melissa']}")
    reached = soap["steps_to_adamw_final"]
    lines.append(f"SOAP vs AdamW, {offline['steps']} steps each: final valid MSE {soap['val']['mse']:.3g} vs "
                 f"{offline['val']['mse']:.3g}; " + (f"SOAP reaches AdamW's final loss at step {reached} "
                 f"({100 * (1 - reached / offline['steps']):.0f}% fewer steps)" if reached else
                 "SOAP does not reach AdamW's final loss") +
                 f"; {soap['seconds'] / soap['steps'] * 1e3:.1f} vs {offline['seconds'] / offline['steps'] * 1e3:.1f}"
                 f" ms per step")
    lines.append(f"  published (SOAP): {PUBLISHED['soap']}")
    lines.append(f"budget {results['budget']['name']}: this call {results['runtime_s']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = tutorial_parser(__doc__.splitlines()[0], "online-out")
    args = parser.parse_args(argv)
    budget = BUDGETS[start(args)]
    results = run(budget, args.out, args.seed)
    results["table"] = table(results)
    print(results["table"])
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
