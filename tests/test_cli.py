"""The `meshsim` command: mesh generation, info, help, and one-line errors for bad input."""
import argparse
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from meshsim import read
from meshsim.cli import main

TOOLS = Path(__file__).resolve().parents[1] / "tools"


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


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``meshsim ARGV`` run in this process."""
    status = main(argv)
    printed = capsys.readouterr()
    return status, printed.out, printed.err


def assert_one_line_error(err: str, *names: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "SystemExit" not in err
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.mark.parametrize("argv, names", [
    (["mesh", "box", "--size", "1,1"], ["--size", "expected 3 comma-separated numbers", "'1,1'"]),
    (["mesh", "random_domain", "-5"], ["seed", "integer >= 0", "'-5'"]),
    (["mesh", "rectangle", "--h", "abc"], ["--h", "'abc'"]),
    (["mesh", "polygon", "0,0,1,0,1"], ["vertices", "x,y pairs"]),
    (["mesh", "polygon", "0,0,1,0,1,1", "--refine", "hole_0:0.1"], ["--refine", "name:h_min,dist_min,dist_max"]),
    (["mesh", "rectangle", "--h", "1e-5"], ["about 23,094,010,768 triangles", "limit of 5,000,000", "--force"]),
    (["demo", "--threads", "0"], ["threads must be >= 1"]),
])
def test_bad_values_are_one_line_errors(argv, names, capsys):
    status, _, err = run_cli(argv, capsys)
    assert status == 2
    assert_one_line_error(err, *names)


def test_box_and_random_domain_reject_bad_values_in_python():
    from meshsim.mesh import MeshError, box, random_domain

    with pytest.raises(MeshError, match="size and origin of a box are 3 numbers each"):
        box(size=(1.0, 1.0))
    with pytest.raises(MeshError, match="seed must be an integer >= 0, got -5"):
        random_domain(-5)


def test_force_flag_meshes_above_the_limit(monkeypatch, capsys):
    from meshsim.mesh import _gmsh

    monkeypatch.setattr(_gmsh, "MAX_ELEMENTS", 20)
    status, _, err = run_cli(["mesh", "rectangle", "--h", "0.2"], capsys)
    assert status == 2 and "above the limit of 20" in err
    status, out, _ = run_cli(["mesh", "rectangle", "--h", "0.2", "--force"], capsys)
    assert status == 0 and "M=" in out


def test_version_and_help_are_for_users(capsys):
    from meshsim import __version__

    assert run_cli(["--version"], capsys)[:2] == (0, f"meshsim {__version__}\n")
    for argv in (["--help"], ["mesh", "--help"], ["mesh", "rectangle", "--help"], ["train", "--help"],
                 ["evaluate", "--help"], ["demo", "--help"]):
        status, out, _ = run_cli(argv, capsys)
        assert status == 0 and out.startswith("usage: meshsim")
        assert "``" not in out and "add_commands" not in out and "`meshsim.viz" not in out, argv
    status, out, _ = run_cli(["mesh", "--help"], capsys)
    from meshsim._generator_options import GENERATORS

    flat = " ".join(out.split())
    for name, summary in GENERATORS.items():  # whole summaries, not docstring first lines cut short
        assert f"{name} {summary}" in flat


def test_every_option_has_help_and_bool_parameters_are_flags():
    from meshsim.cli import build_parser

    def parsers(parser, path=()):
        yield path, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from parsers(child, path + (name,))

    for path, parser in parsers(build_parser()):
        for action in parser._actions:
            if action.option_strings and action.help != argparse.SUPPRESS:
                assert action.help, (path, action.option_strings)
    mesh_parser = dict(parsers(build_parser()))[("mesh", "rectangle")]
    force = next(a for a in mesh_parser._actions if "--force" in a.option_strings)
    assert force.nargs == 0 and force.default is False  # --force, not --force true


def test_building_the_parser_does_not_load_torch():
    """So `main` can set the OpenMP environment before torch loads OpenMP."""
    code = "import sys; from meshsim.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("script", sorted(p.name for p in TOOLS.glob("*.py")))
def test_tool_scripts_parse_arguments_before_running(script, monkeypatch, capsys):
    environment = dict(os.environ)  # a script may set OpenMP variables at import
    monkeypatch.setattr(sys, "argv", [script, "--help"])
    try:
        with pytest.raises(SystemExit) as stop:
            runpy.run_path(str(TOOLS / script), run_name="__main__")
    finally:
        os.environ.clear()
        os.environ.update(environment)
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")
