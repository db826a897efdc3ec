"""meshsim.train"""
from .batching import StepBatchSampler, seed_for, step_generator
from .checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from .ddp import LossModule, distributed_context, init_from_environment, wrap_loss
from .loop import NonFiniteLossError, TrainConfig, TrainResult, make_optimizer, train
from .losses import (MeshGraphNetLoss, MPPDELoss, add_noise, bundle, masked_mse, pushforward,
                     window_starts)
from .metrics import accumulated_error, one_step_rmse, rmse, rmse_per_step, rollout_rmse
from .rollout import rollout, windows_to_frames
from .run_folder import RunFolder
