"""``meshsim train KIND --online RECIPE``: the command-line side of `meshsim.train.online` (torch and the
data layer are imported only when it runs, so ``meshsim --help`` stays quick)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .run_settings import TrainPlan, read_run_config

ONLINE_HELP = ("train on samples that simulators of RECIPE (a shipped name or a .toml) stream into a bounded "
               "in-memory buffer while training runs, instead of on a stored dataset (stnn, mgn); --data then "
               "only gives the validation split (mgn: required, its stored trajectories also tell the held node "
               "types; stnn: without it, made once from the recipe's valid seeds)")


def add_online_options(parser) -> None:
    """``--online``, ``--simulators``, ``--buffer``, ``--scheduler`` on the ``train`` parser."""
    from .cli import _integer

    parser.add_argument("--online", metavar="RECIPE", help=ONLINE_HELP)
    parser.add_argument("--simulators", type=_integer(1), default=1,
                        help="--online: local simulator processes (default 1)")
    parser.add_argument("--buffer", type=_integer(1), default=2000,
                        help="--online: samples the in-memory buffer holds (default 2000)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="--online: run the simulators on the Dask cluster at ADDRESS (tcp://host:8786)")


def cmd_train_online(plan: TrainPlan, args) -> int:
    """Run a resolved ``meshsim train ... --online RECIPE`` (single process)."""
    import torch

    from ..data import load_recipe
    from .online import OnlineSettings, online_summary, train_online

    if not hasattr(plan.task_type, "to_item"):
        raise ValueError(f"meshsim train {plan.kind} cannot train online (--online): its task makes no training items "
                         f"from streamed samples; stnn and mgn can")
    recipe = load_recipe(args.online)
    if plan.data is None and (plan.run / "config.json").is_file() and args.resume:
        saved = read_run_config(plan.run)
        source = saved.get("data") or recipe
    else:
        source = plan.data if plan.data is not None else recipe
    task = plan.task_type(source, plan.settings)
    torch.manual_seed(plan.config.seed)
    model = task.model()
    settings = OnlineSettings(simulators=args.simulators, scheduler=args.scheduler, buffer=args.buffer)
    data = str(Path(plan.data).resolve()) if plan.data is not None else args.online
    result = train_online(model, task, recipe, plan.config, settings, run_dir=plan.run, validate=task.validate(),
                          resume=args.resume, extra_config={"task": plan.kind, "data": data,
                                                            "settings": dataclasses.asdict(task.settings)})
    last = result.train.validation[-1] if result.train.validation else {}
    print(f"trained {plan.kind} online to step {result.train.step}; run folder {plan.run}; "
          + ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "step"))
    print(online_summary(result))
    return 0
