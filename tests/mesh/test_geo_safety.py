"""Untrusted .geo files: commands that act outside gmsh are refused unless trusted."""
import pytest

from meshsim.cli import main
from meshsim.mesh import MeshError, from_geo
from meshsim.mesh.geo_safety import unsafe_commands

SQUARE = """// a unit square
Point(1) = {0, 0, 0, 0.5}; Point(2) = {1, 0, 0, 0.5}; Point(3) = {1, 1, 0, 0.5}; Point(4) = {0, 1, 0, 0.5};
Line(1) = {1, 2}; Line(2) = {2, 3}; Line(3) = {3, 4}; Line(4) = {4, 1};
Curve Loop(1) = {1, 2, 3, 4}; Plane Surface(1) = {1};
Physical Curve("wall") = {1, 2, 3, 4}; Physical Surface("domain") = {1};
"""


def test_a_system_call_is_refused_unless_trusted(tmp_path, capsys):
    marker = tmp_path / "marker"
    geo = tmp_path / "square.geo"
    geo.write_text(SQUARE + f'SystemCall "touch {marker}";\n')
    with pytest.raises(MeshError, match=f"^{geo}:6: SystemCall runs a shell command; refusing .* trust=True"):
        from_geo(geo)
    assert not marker.exists()
    assert main(["mesh", "from_geo", str(geo)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"meshsim mesh: error: {geo}:6: SystemCall") and "--trust" in err and "\n" not in err
    assert not marker.exists()
    mesh = from_geo(geo, trust=True)
    assert marker.exists() and mesh.num_cells > 0 and sorted(mesh.boundary) == ["wall"]
    marker.unlink()
    assert main(["mesh", "from_geo", str(geo), "--trust"]) == 0
    assert marker.exists()


def test_commands_in_included_files_are_found_and_comments_and_strings_are_not(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "inner.geo").write_text('x = 1;\n\nPrintf("x = %g", x) > "/tmp/out.txt";\n')
    (tmp_path / "parts" / "outer.geo").write_text('Include "inner.geo";\nMerge "shape.step";\nExit;\n')
    main_geo = tmp_path / "main.geo"
    main_geo.write_text('// SystemCall "rm -rf /";\n/* Save "x.msh";\n Exit; */\nPrintf("SystemCall Save");\n'
                        "Printf('%g', 1);\nInclude \"parts/outer.geo\";\nMerge StrCat(\"a\", \".geo\");\n")
    found = [(c.path.name, c.line, c.command, c.why) for c in unsafe_commands(main_geo)]
    assert found == [("inner.geo", 3, "Printf", "writes to a file"),
                     ("outer.geo", 3, "Exit", "ends the Python process"),
                     ("main.geo", 7, "Merge", "reads a file whose name is computed when the script runs, "
                                              "which cannot be checked")]
    with pytest.raises(MeshError, match=r"inner.geo:3: Printf writes to a file \(and 2 more such commands\)"):
        from_geo(main_geo)


def test_a_plain_geo_file_is_not_refused(tmp_path):
    geo = tmp_path / "square.geo"
    geo.write_text(SQUARE + 'Printf("meshing");\nMesh.MeshSizeFactor = 1;\nPrint.Width = 800;\nSystem = 2;\n'
                            'Save[0] = 1;\nSave += 1;\n')
    assert unsafe_commands(geo) == []
    assert from_geo(geo).num_cells > 0
