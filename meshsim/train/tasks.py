"""The models ``meshsim train KIND`` can train, by KIND (a fixed table, not a registry).

A task class is built from a dataset folder and its settings dataclass (``Settings``), and gives
``train_set``, ``model()``, ``loss()``, ``validate()``, ``evaluate(model, split, max_trajectories)``,
``train_defaults`` (steps, batch_size, lr, lr_final) and optionally ``example_rollout(model, split)``;
``evaluate`` may take ``progress=True`` (a progress bar for ``meshsim evaluate``).
"""
from __future__ import annotations

from importlib import import_module

#: KIND -> (module, class) of its task; imported on use (the modules need torch)
TASKS = {
    "mgn": ("mgn_task", "MeshGraphNetTask"),
    "mppde": ("mppde_task", "MPPDETask"),
    "egnn": ("nbody_task", "EGNNTask"),
    "segno": ("nbody_task", "SEGNOTask"),
    "gns": ("particle_tasks", "GNSTask"),
    "giorom": ("particle_tasks", "GIOROMTask"),
    "um2n": ("um2n_task", "UM2NTask"),
    "dmm": ("dmm_task", "DMMTask"),
    "stnn": ("stnn_task", "STNNTask"),
}


def task_class(kind: str) -> type:
    """The task class of ``kind`` (a key of `TASKS`)."""
    if kind not in TASKS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(sorted(TASKS))}")
    module, name = TASKS[kind]
    return getattr(import_module(f".{module}", __package__), name)
