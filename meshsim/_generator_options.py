"""Command-line options of the gmsh generators (``meshsim mesh NAME``): one option per keyword
argument of the generator function, parsed into the type of its default, with help text."""
from __future__ import annotations

import argparse
import inspect
import math
import re

#: the generators ``meshsim mesh`` offers (functions of meshsim.mesh) and their one-line help
GENERATORS = {
    "interval": "1D mesh of the interval [a, b]",
    "rectangle": "triangle mesh of a rectangle",
    "disk": "triangle mesh of a disk",
    "polygon": "triangle mesh of a polygon with holes (circles or polygons)",
    "channel_with_cylinder": "the DFG flow-around-a-cylinder channel",
    "random_domain": "triangle mesh of a random polygon with random holes, set by a seed",
    "box": "tetrahedral mesh of a box",
    "from_geo": "mesh a gmsh .geo file",
}

FORMATS = """value formats: tuples as comma lists (--size 1,2,1); vertices "x0,y0,x1,y1,...";
holes "cx,cy,r;x0,y0,x1,y1,x2,y2" (';' between holes, 3 numbers = circle);
refine "name:h_min,dist_min,dist_max;name2:..." (element size h_min within dist_min of the
named boundary, growing to h at dist_max)"""

#: help of parameters that the generators' docstrings do not describe in an Args section
PARAMETER_HELP = {
    "a": "left end", "b": "right end", "h": "largest element size",
    "width": "size in x", "height": "size in y", "origin": "lowest corner (x0,y0 in 2D, x0,y0,z0 in 3D)",
    "radius": "radius", "center": "centre (cx,cy)", "length": "channel length",
    "h_cylinder": "element size on the cylinder (default h/4)",
    "seed": "random seed (integer >= 0): the same seed gives the same domain",
    "num_vertices": "fewest and most outer vertices (min,max)", "max_holes": "most holes",
    "trust": "run the file's commands that act outside gmsh (only for files you trust)",
}
#: help used instead of the docstring's (which speaks of Python values), by parameter or GENERATOR.parameter
HELP_OVERRIDES = {
    "refine": "smaller elements near named boundaries, see the value formats below",
    "force": "mesh even if the estimated element count is above the size guard's limit (5 million)",
    "from_geo.h": "largest element size (the file's Mesh.MeshSizeFactor still scales it; default: the "
                  "sizes the file sets)",
    "from_geo.dim": "dimension of the cells (default: the model's)",
    "box.size": "side lengths dx,dy,dz", "random_domain.size": "largest radius of the outer boundary",
}

#: types of parameters whose default does not say it
TYPE_BY_NAME = {"dim": int, "path": str}


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _seed(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is an integer >= 0, got {text!r}")
    return value


def _numbers(text: str) -> list[float]:
    return [_number(v) for v in text.split(",")]


def _points(text: str) -> list[list[float]]:
    """``"x0,y0,x1,y1,..."`` -> [[x0, y0], [x1, y1], ...]."""
    values = _numbers(text)
    if len(values) % 2:
        raise argparse.ArgumentTypeError(f"expected x,y pairs, got {len(values)} numbers in {text!r}")
    return [values[i:i + 2] for i in range(0, len(values), 2)]


def _holes(text: str) -> list:
    """``"cx,cy,r;x0,y0,x1,y1,x2,y2"``: holes separated by ``;``, each a circle (3 numbers) or a
    polygon (an even number of coordinates, at least 6)."""
    holes = []
    for part in filter(None, text.split(";")):
        values = _numbers(part)
        holes.append(tuple(values) if len(values) == 3 else _points(part))
    return holes


def _refine(text: str) -> dict:
    """``"cylinder:0.005,0.05,0.2;walls:..."`` -> {name: (h_min, dist_min, dist_max)}."""
    refine = {}
    for part in filter(None, text.split(";")):
        name, _, values = part.partition(":")
        numbers = _numbers(values) if values else []
        if not name or len(numbers) != 3:
            raise argparse.ArgumentTypeError(f"expected name:h_min,dist_min,dist_max, got {part!r}")
        refine[name] = tuple(numbers)
    return refine


def _tuple_of(default: tuple):
    """Parser of a comma list with as many numbers as ``default`` (ints if its entries are ints)."""
    item = _integer if all(isinstance(v, int) for v in default) else _number

    def parse(text: str) -> tuple:
        values = tuple(item(v) for v in text.split(","))
        if len(values) != len(default):
            raise argparse.ArgumentTypeError(f"expected {len(default)} comma-separated numbers "
                                             f"(like {','.join(map(str, default))}), got {text!r}")
        return values
    return parse


#: parsers of parameters whose values are not plain numbers
SPECIAL_PARSERS = {"vertices": _points, "holes": _holes, "refine": _refine, "seed": _seed}


def _value_parser(name: str, default):
    if name in SPECIAL_PARSERS:
        return SPECIAL_PARSERS[name]
    if name in TYPE_BY_NAME:
        return {int: _integer, str: str}[TYPE_BY_NAME[name]]
    if isinstance(default, (tuple, list)):
        return _tuple_of(tuple(default))
    if isinstance(default, int):
        return _integer
    return _number


def plain(text: str) -> str:
    """Docstring text without reStructuredText markup (``code``, `references`)."""
    return re.sub(r"`+([^`]*)`+", r"\1", text)


def _docstring_args(func) -> dict[str, str]:
    """Parameter name -> its description in the docstring's ``Args:`` section."""
    described, current = {}, None
    lines = (inspect.getdoc(func) or "").splitlines()
    if "Args:" not in lines:
        return described
    for line in lines[lines.index("Args:") + 1:]:
        if not line.strip() or not line.startswith(" "):
            break
        match = re.match(r"^ {4}(\w+): (.*)$", line)
        if match:
            current = match.group(1)
            described[current] = match.group(2)
        elif current:
            described[current] += " " + line.strip()
    return {name: plain(text) for name, text in described.items()}


def _description(func) -> str:
    """The generator's docstring without its ``Args:`` section and markup."""
    paragraphs = (inspect.getdoc(func) or "").split("\n\n")
    return plain("\n\n".join(p for p in paragraphs if not p.startswith("Args:")))


def add_generator_parser(sub, name: str, func) -> None:
    """One ``meshsim mesh NAME`` parser whose options mirror the generator's keyword arguments."""
    parser = sub.add_parser(name, help=GENERATORS[name], description=_description(func), epilog=FORMATS)
    described = {**PARAMETER_HELP, **_docstring_args(func), **HELP_OVERRIDES}
    for pname, param in inspect.signature(func).parameters.items():
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            continue
        text = described.get(f"{name}.{pname}", described.get(pname, pname))
        if param.default is inspect.Parameter.empty:
            parser.add_argument(pname, type=_value_parser(pname, None), help=text)
        elif isinstance(param.default, bool):
            action = argparse.BooleanOptionalAction if param.default else "store_true"
            parser.add_argument(f"--{pname}", action=action, default=param.default, help=text)
        elif isinstance(param.default, (int, float, str, tuple, list)) or param.default is None:
            shown = ",".join(map(str, param.default)) if isinstance(param.default, (tuple, list)) else param.default
            parser.add_argument(f"--{pname}", default=param.default, metavar="VALUE",
                                type=_value_parser(pname, param.default),
                                help=text if param.default is None else f"{text} (default: {shown})")
    parser.add_argument("-o", "--output", help="write the mesh here (.msh, .vtu, .xdmf, ...)")
    parser.add_argument("--plot", help="save a PNG of the mesh here")
    parser.set_defaults(generator=name)
