"""Training: one loop for every model, losses, rollouts, metrics, checkpoints, DDP, and the
``meshsim train`` / ``meshsim evaluate`` tasks.

Names are imported on first use (they need torch), so the ``meshsim`` command starts quickly.
"""
from importlib import import_module

#: public name -> the module that defines it
_NAMES = {
    "StepBatchSampler": "batching", "seed_for": "batching", "step_generator": "batching",
    "CheckpointError": "checkpoint", "CheckpointWarning": "checkpoint", "latest_checkpoint": "checkpoint",
    "list_checkpoints": "checkpoint", "load_checkpoint": "checkpoint", "load_latest_checkpoint": "checkpoint",
    "read_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
    "LossModule": "ddp", "distributed_context": "ddp", "init_from_environment": "ddp", "wrap_loss": "ddp",
    "NonFiniteLossError": "loop", "TrainConfig": "loop", "TrainResult": "loop", "make_optimizer": "loop",
    "train": "loop",
    "MeshGraphNetLoss": "losses", "MPPDELoss": "losses", "add_noise": "losses", "bundle": "losses",
    "masked_mse": "losses", "pushforward": "losses", "window_starts": "losses",
    "accumulated_error": "metrics", "one_step_rmse": "metrics", "rmse": "metrics", "rmse_per_step": "metrics",
    "rollout_rmse": "metrics",
    "rollout": "rollouts", "windows_to_frames": "rollouts", "RolloutResult": "rollouts",
    "RunFolder": "run_folder",
    "TASKS": "tasks", "load_run": "cli", "TrainPlan": "run_settings", "read_run_config": "run_settings",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(import_module(f".{_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
