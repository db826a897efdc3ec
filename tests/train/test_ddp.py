import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from tiny_problems import diffusion_dataset, tiny_meshgraphnet

from meshsim.train import (LossModule, MeshGraphNetLoss, TrainConfig, distributed_context, init_from_environment,
                           train, wrap_loss)

STEPS = 5


def settings(batch_size):
    return TrainConfig(steps=STEPS, batch_size=batch_size, lr=1e-2, progress=False)


def _worker(rank, world_size, init_file, out_path):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        assert distributed_context() == (rank, world_size)
        model = tiny_meshgraphnet()
        train(model, MeshGraphNetLoss(), diffusion_dataset(), settings(batch_size=2))
        torch.save(model.state_dict(), f"{out_path}.{rank}")
    finally:
        dist.destroy_process_group()


def test_two_processes_equal_one_process_on_the_combined_batch(tmp_path):
    out = tmp_path / "state"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(out)), nprocs=2)
    single = tiny_meshgraphnet()
    train(single, MeshGraphNetLoss(), diffusion_dataset(), settings(batch_size=4))
    initial = tiny_meshgraphnet().state_dict()
    for rank in range(2):
        state = torch.load(f"{out}.{rank}", weights_only=True)
        for name, value in single.state_dict().items():
            assert (state[name] - value).abs().max() <= 1e-6, (rank, name)
    moved = max((single.state_dict()[k] - v).abs().max() for k, v in initial.items() if v.is_floating_point())
    assert moved > 1e-3


def test_single_process_needs_no_process_group(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert init_from_environment() == (0, 1) and not dist.is_initialized()
    model = tiny_meshgraphnet().eval()
    module = wrap_loss(model, lambda m, batch, generator: m.loss(batch))
    assert isinstance(module, LossModule) and module.model is model
    data = diffusion_dataset(1)[0]
    assert torch.equal(module(data, torch.Generator()), model.loss(data))
