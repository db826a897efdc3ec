import pytest
import torch
from torch import nn

from meshsim.train import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from meshsim.train.checkpoint import checkpoint_path, prune_checkpoints


def test_round_trip_with_weights_only(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    path = save_checkpoint(checkpoint_path(tmp_path, 7), model, optimizer, 7, note="x", loss=0.25)
    raw = torch.load(path, weights_only=True)
    assert raw["step"] == 7 and raw["note"] == "x" and raw["loss"] == 0.25
    other, other_optimizer = nn.Linear(3, 2), None
    other_optimizer = torch.optim.AdamW(other.parameters(), lr=1e-3)
    state = load_checkpoint(path, other, other_optimizer)
    assert state["step"] == 7
    assert torch.equal(other.weight, model.weight) and torch.equal(other.bias, model.bias)
    assert torch.equal(other_optimizer.state_dict()["state"][0]["exp_avg"],
                       optimizer.state_dict()["state"][0]["exp_avg"])
    assert not list(tmp_path.glob("*.tmp"))


def test_latest_and_pruning(tmp_path):
    model = nn.Linear(1, 1)
    assert latest_checkpoint(tmp_path / "missing") is None
    for step in (5, 10, 100, 20):
        save_checkpoint(checkpoint_path(tmp_path, step), model, None, step)
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    assert latest_checkpoint(tmp_path).name == "step-00000100.pt"
    prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000020.pt", "step-00000100.pt"]


def test_missing_file_and_missing_optimizer_state(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")
    model = nn.Linear(1, 1)
    path = save_checkpoint(tmp_path / "a.pt", model, None, 1)
    with pytest.raises(KeyError, match="no optimizer state"):
        load_checkpoint(path, model, torch.optim.Adam(model.parameters()))


def test_latest_intact_checkpoint_skips_damaged_ones_and_says_so(tmp_path):
    from meshsim.train import CheckpointError, CheckpointWarning, load_latest_checkpoint
    from meshsim.train.checkpoint import intact_step

    model = nn.Linear(2, 2)
    for step in (1, 2, 3):
        with torch.no_grad():
            model.weight.fill_(step)
        save_checkpoint(checkpoint_path(tmp_path, step), model, None, step)
    assert load_latest_checkpoint(tmp_path / "missing") is None
    newest = checkpoint_path(tmp_path, 3)
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    checkpoint_path(tmp_path, 2).write_bytes(b"")  # emptied
    fresh = nn.Linear(2, 2)
    with pytest.warns(CheckpointWarning, match=r"step-00000003.pt is damaged \(100 bytes.*step-00000002.pt is "
                                               r"damaged \(an empty file\): using step-00000001.pt \(step 1\)"):
        path, state = load_latest_checkpoint(tmp_path, fresh)
    assert path.name == "step-00000001.pt" and state["step"] == 1 and bool((fresh.weight == 1).all())
    assert intact_step(tmp_path) == 1
    checkpoint_path(tmp_path, 1).write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match="no intact checkpoint in .*step-00000001.pt is damaged"):
        load_latest_checkpoint(tmp_path, fresh)
    assert intact_step(tmp_path) is None


def test_a_checkpoint_of_another_model_is_a_short_error(tmp_path):
    from meshsim.train import CheckpointError

    path = save_checkpoint(tmp_path / "a.pt", nn.Linear(3, 4), None, 1)
    with pytest.raises(CheckpointError, match=r"a\.pt does not fit the model: size mismatch for weight") as caught:
        load_checkpoint(path, nn.Linear(3, 5))
    assert "\n" not in str(caught.value)
