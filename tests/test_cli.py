"""The `meshsim` command: mesh generation, info, and errors."""
import numpy as np
import pytest

from meshsim import read
from meshsim.cli import main


def test_mesh_channel_writes_file_and_plot(tmp_path, capsys):
    out, png = tmp_path / "channel.msh", tmp_path / "channel.png"
    assert main(["mesh", "channel_with_cylinder", "--h", "0.05", "-o", str(out), "--plot", str(png)]) == 0
    mesh = read(out)
    assert sorted(mesh.boundary) == ["cylinder", "inlet", "outlet", "walls"]
    assert mesh.cell_measures.sum() == pytest.approx(2.2 * 0.41 - np.pi * 0.05**2, rel=2e-3)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"N={mesh.num_points}" in capsys.readouterr().out


def test_mesh_polygon_with_holes_and_refinement(tmp_path):
    out = tmp_path / "p.vtu"
    args = ["mesh", "polygon", "0,0,2,0,2,1,0,1", "--holes", "0.5,0.5,0.2;1.2,0.3,1.6,0.3,1.4,0.7",
            "--h", "0.2", "--refine", "hole_0:0.02,0.05,0.3", "-o", str(out)]
    assert main(args) == 0
    mesh = read(out)
    assert sorted(mesh.boundary) == ["hole_0", "hole_1", "outer"]
    hole_triangle = 0.5 * 0.4 * 0.4
    assert mesh.cell_measures.sum() == pytest.approx(2.0 - np.pi * 0.04 - hole_triangle, rel=5e-3)


def test_mesh_box_tuple_option(capsys):
    assert main(["mesh", "box", "--size", "1,2,1", "--h", "0.5"]) == 0
    assert "tetra" in capsys.readouterr().out


def test_info_prints_boundaries(tmp_path, capsys):
    out = tmp_path / "r.msh"
    main(["mesh", "rectangle", "--width", "2", "--h", "0.5", "-o", str(out)])
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    for name in ("left", "right", "bottom", "top"):
        assert f"boundary {name!r}" in text


def test_info_missing_file_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "nope.msh"
    assert main(["info", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_bad_generator_argument_is_a_clear_error(capsys):
    assert main(["mesh", "rectangle", "--h", "-1"]) == 2
    assert "h" in capsys.readouterr().err
