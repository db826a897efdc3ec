import numpy as np
import pytest
import torch
from matplotlib import colormaps
from PIL import Image

from meshsim.mesh import rectangle
from meshsim.viz import animate_rollout

TOP_COLOUR = np.array(colormaps["viridis"](1.0)[:3]) * 255


@pytest.fixture(scope="module")
def square():
    mesh = rectangle(h=0.25)
    return mesh.points, mesh.cells


def _wave(points, num_steps: int) -> np.ndarray:
    """(T, N) travelling wave, a different field at every step."""
    t = np.linspace(0.0, 1.0, num_steps)[:, None]
    return np.sin(2 * np.pi * (points[:, 0] - t)) + points[:, 1]


def _frames(path) -> list[np.ndarray]:
    """Every frame of the GIF as an (H, W, 3) uint8 array."""
    with Image.open(path) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
    return frames


def _changed_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.any(a != b, axis=(1, 2)))


def test_2d_gif_keeps_every_kth_frame(square, tmp_path):
    points, cells = square
    truth = _wave(points, 7)
    path = animate_rollout(points, cells, truth, 0.9 * truth, tmp_path / "new" / "dir" / "a.gif", fps=20, every=3)
    assert path == tmp_path / "new" / "dir" / "a.gif"
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 3  # steps 0, 3, 6
        assert gif.info["duration"] == 50
        assert gif.info["loop"] == 0


def test_frames_change_with_the_fields_only(square, tmp_path):
    points, cells = square
    truth = _wave(points, 3)
    moving = _frames(animate_rollout(points, cells, truth, truth + 0.1, tmp_path / "moving.gif", title="wave"))
    still = np.repeat(truth[:1], 3, axis=0)
    frozen = _frames(animate_rollout(points, cells, still, still + 0.1, tmp_path / "still.gif", title="wave"))
    height = moving[0].shape[0]
    # a field that stands still changes only the heading (frame index) at the top of the frame
    assert 0 < _changed_rows(frozen[0], frozen[1]).max() < 0.1 * height
    # a moving field changes the panels below it
    assert _changed_rows(moving[0], moving[1]).max() > 0.5 * height


def test_blow_up_saturates_the_shared_scale(square, tmp_path):
    points, cells = square
    truth = _wave(points, 2)

    def saturated_fraction(prediction) -> float:
        frame = _frames(animate_rollout(points, cells, truth, prediction, tmp_path / "s.gif"))[1].astype(float)
        return float(np.mean(np.linalg.norm(frame - TOP_COLOUR, axis=-1) < 30))

    calm, blown_up = saturated_fraction(truth), saturated_fraction(truth + 100.0)
    assert calm < 0.03
    assert blown_up > 0.2  # the whole prediction panel at the top colour (0.36 measured)


def test_vector_field_shown_by_magnitude(square, tmp_path):
    points, cells = square
    velocity = np.stack([_wave(points, 2), np.cos(_wave(points, 2))], axis=-1)  # (T, N, 2)
    speed = np.linalg.norm(velocity, axis=-1)
    vector = animate_rollout(points, cells, torch.tensor(velocity), 2 * velocity, tmp_path / "v.gif")
    scalar = animate_rollout(points, cells, speed[..., None], 2 * speed[..., None], tmp_path / "s.gif")
    # |v - 2v| = |v| = 2|v| - |v|, so both GIFs show the same three panels
    for a, b in zip(_frames(vector), _frames(scalar), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("column", [False, True])
def test_1d_rollout_lines(tmp_path, column):
    x = np.linspace(0.0, 1.0, 40)
    truth = torch.sin(torch.pi * torch.from_numpy(x)[None] * torch.arange(1, 6)[:, None])
    points = x[:, None] if column else x
    path = animate_rollout(points, None, truth, truth.flip(1), tmp_path / "line.gif", times=np.arange(5) * 0.1,
                           every=2)
    frames = _frames(path)
    assert len(frames) == 3  # steps 0, 2, 4
    assert len(_changed_rows(frames[0], frames[1])) > 0.3 * frames[0].shape[0]


def test_bad_shapes_are_named(square, tmp_path):
    points, cells = square
    n = len(points)
    with pytest.raises(ValueError, match=rf"same shape, got \(4, {n}\) and \(4, {n}, 2\)"):
        animate_rollout(points, cells, np.zeros((4, n)), np.zeros((4, n, 2)), tmp_path / "a.gif")
    with pytest.raises(ValueError, match=rf"N = {n + 1} values per frame, but there are {n} points"):
        animate_rollout(points, cells, np.zeros((4, n + 1)), np.zeros((4, n + 1)), tmp_path / "a.gif")
    with pytest.raises(ValueError, match=r"triangle cells \(M, 3\), got None"):
        animate_rollout(points, None, np.zeros((4, n)), np.zeros((4, n)), tmp_path / "a.gif")
    with pytest.raises(ValueError, match=r"times has 3 entries for 4 frames"):
        animate_rollout(points, cells, np.zeros((4, n)), np.zeros((4, n)), tmp_path / "a.gif", times=[0, 1, 2])
    with pytest.raises(ValueError, match="every=0"):
        animate_rollout(points, cells, np.zeros((4, n)), np.zeros((4, n)), tmp_path / "a.gif", every=0)
    assert not (tmp_path / "a.gif").exists()
