"""The size guard of the gmsh generators: an element count estimated before meshing, a refusal
above the limit unless ``force=True``, and gmsh's progress shown for large meshes."""
import math
import re

import pytest

from meshsim.mesh import MeshError, _gmsh, box, channel_with_cylinder, from_geo, polygon, rectangle

SQUARE_GEO = """lc = {lc};
Point(1) = {{0, 0, 0, lc}}; Point(2) = {{2, 0, 0, lc}}; Point(3) = {{2, 1, 0, lc}}; Point(4) = {{0, 1, 0, lc}};
Line(1) = {{1, 2}}; Line(2) = {{2, 3}}; Line(3) = {{3, 4}}; Line(4) = {{4, 1}};
Curve Loop(1) = {{1, 2, 3, 4}}; Plane Surface(1) = {{1}};
Physical Curve("wall") = {{1, 2, 3, 4}}; Physical Surface("domain") = {{1}};
"""


def estimate_in(error: MeshError) -> int:
    return int(re.search(r"about ([\d,]+) ", str(error)).group(1).replace(",", ""))


def test_a_tiny_h_is_refused_before_meshing_with_the_estimate():
    with pytest.raises(MeshError, match="above the limit of 5,000,000.*force=True") as caught:
        rectangle(h=1e-5)
    assert estimate_in(caught.value) == round(1 / (1e-10 * math.sqrt(3) / 4))  # area / equilateral triangle


@pytest.mark.parametrize("make", [
    lambda force: rectangle(h=0.05, force=force),
    lambda force: channel_with_cylinder(h=0.04, force=force),  # h/4 on the cylinder: a refinement
    lambda force: polygon([[0, 0], [2, 0], [2, 1], [0, 1]], holes=[(1.0, 0.5, 0.2)], h=0.1,
                          refine={"hole_0": (0.01, 0.02, 0.3)}, force=force),
    lambda force: box(h=0.1, force=force),
], ids=["rectangle", "channel", "refined_polygon", "box"])
def test_estimate_is_close_to_gmsh_count_and_force_meshes_anyway(make, monkeypatch):
    monkeypatch.setattr(_gmsh, "MAX_ELEMENTS", 10)
    with pytest.raises(MeshError, match="above the limit of 10") as caught:
        make(False)
    mesh = make(True)
    assert 0.85 < estimate_in(caught.value) / mesh.num_cells < 1.15  # measured: 0.96-1.10


def test_geo_file_estimate_uses_the_sizes_it_sets(tmp_path, monkeypatch):
    path = tmp_path / "square.geo"
    path.write_text(SQUARE_GEO.format(lc=0.0002))
    with pytest.raises(MeshError, match=r"square\.geo.*about 115,470,054 triangles"):
        from_geo(path)  # 2 / (0.0002^2 sqrt(3) / 4)
    path.write_text(SQUARE_GEO.format(lc=0.05))
    monkeypatch.setattr(_gmsh, "MAX_ELEMENTS", 10)
    with pytest.raises(MeshError) as caught:
        from_geo(path)
    assert 0.85 < estimate_in(caught.value) / from_geo(path, force=True).num_cells < 1.15


def test_large_meshes_print_the_estimate_and_gmsh_progress(monkeypatch, capfd):
    monkeypatch.setattr(_gmsh, "LARGE_ELEMENTS", 100)
    rectangle(h=0.1)
    printed = capfd.readouterr()
    assert "meshsim: meshing about 231 triangles" in printed.err
    assert "Meshing 2D" in printed.out + printed.err  # gmsh's own progress lines
    rectangle(h=0.2)  # 58 estimated: silent
    printed = capfd.readouterr()
    assert "Meshing" not in printed.out + printed.err
