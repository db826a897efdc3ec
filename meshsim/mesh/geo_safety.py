"""Commands of a gmsh ``.geo`` script that act outside the model, found before gmsh runs it.

gmsh executes every command of a script it opens: ``SystemCall "..."`` runs a shell command,
``Print`` / ``Save`` / ``Printf(...) > "file"`` write files, ``Exit`` ends the process. So
`meshsim.mesh.from_geo` refuses a file that holds any of the commands in `UNSAFE` unless it is
called with ``trust=True``. Files pulled in with ``Include`` or ``Merge`` are scanned too
(relative to the including file, as gmsh resolves them), except merged files whose suffix
names a mesh or CAD format (`DATA_SUFFIXES`); a file name computed at run time cannot be
checked and is refused. The scan follows gmsh's lexer: ``//`` and ``/* */`` comments and
quoted strings are skipped, commands are case-sensitive identifiers, and a name followed by
``.``, ``[`` or an assignment is an option or a variable (``Print.Width = 800;``), not a command.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import MeshError

#: command -> what it does outside gmsh's model (gmsh 4.x grammar, src/parser/Gmsh.y)
UNSAFE = {
    "SystemCall": "runs a shell command",
    "System": "runs a shell command",
    "NonBlockingSystemCall": "runs a shell command",
    "OnelabRun": "runs an external program",
    "Exit": "ends the Python process",
    "Abort": "ends the Python process",
    "Print": "writes a file",
    "Save": "writes a file",
    "CreateDir": "creates a folder",
}
#: commands that read another file, which gmsh may execute as a script
INCLUDES = ("Include", "Merge", "MergeWithBoundingBox")
#: suffixes of files ``Merge`` reads as data (mesh, CAD, images), not as scripts
DATA_SUFFIXES = {".msh", ".step", ".stp", ".iges", ".igs", ".brep", ".xao", ".stl", ".vtk", ".vtu", ".med",
                 ".unv", ".mesh", ".bdf", ".nas", ".inp", ".ply", ".obj", ".off", ".x3d", ".p3d", ".cgns",
                 ".wrl", ".vrml", ".png", ".jpg", ".jpeg", ".pnm", ".bmp", ".tif", ".tiff"}

_TOKEN = re.compile(r'//[^\n]*|/\*.*?(?:\*/|\Z)|"[^"]*(?:"|\Z)|\'[^\']*(?:\'|\Z)|[A-Za-z_][A-Za-z0-9_]*|>>|\S',
                    re.DOTALL)


@dataclass(frozen=True)
class UnsafeCommand:
    """A command of ``path`` at ``line`` (1-based) and what it would do."""

    path: Path
    line: int
    command: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.command} {self.why}"


def _tokens(text: str) -> list[tuple[str, int]]:
    """(token, line) of a .geo script without its comments; strings keep their quotes."""
    out, line, last = [], 1, 0
    for match in _TOKEN.finditer(text):
        line += text.count("\n", last, match.start())
        last = match.start()
        token = match.group()
        if not token.startswith(("//", "/*")):
            out.append((token, line))
    return out


def _printf_to_file(tokens: list[tuple[str, int]], i: int) -> bool:
    """Whether the ``Printf(...)`` at ``tokens[i]`` redirects to a file (``> "f"`` or ``>> "f"``)."""
    depth, j = 0, i + 1
    while j < len(tokens):
        depth += {"(": 1, ")": -1}.get(tokens[j][0], 0)
        if depth == 0:
            return j + 1 < len(tokens) and tokens[j + 1][0] in (">", ">>")
        j += 1
    return False


def unsafe_commands(path, _seen: set | None = None) -> list[UnsafeCommand]:
    """Every command of the script ``path`` (and of the scripts it includes) that acts outside
    gmsh's model; a missing included file is left to gmsh to report."""
    path = Path(path)
    seen = set() if _seen is None else _seen
    key = path.resolve()
    if key in seen or not path.is_file():
        return []
    seen.add(key)
    tokens = _tokens(path.read_text(errors="replace"))
    found = []
    for i, (token, line) in enumerate(tokens):
        after = [t for t, _ in tokens[i + 1:i + 3]]
        if after[:1] in (["."], ["="], ["["]) or (len(after) == 2 and after[0] in "+-*/" and after[1] == "="):
            continue  # an option (Print.Width = ...) or a variable of the same name, not the command
        if token in UNSAFE:
            found.append(UnsafeCommand(path, line, token, UNSAFE[token]))
        elif token == "Printf" and _printf_to_file(tokens, i):
            found.append(UnsafeCommand(path, line, "Printf", "writes to a file"))
        elif token in INCLUDES:
            name = tokens[i + 1][0] if i + 1 < len(tokens) else ""
            end = tokens[i + 2][0] if i + 2 < len(tokens) else ""
            if not (name[:1] in "\"'" and len(name) > 1 and end == ";"):
                found.append(UnsafeCommand(path, line, token, "reads a file whose name is computed when the "
                                                              "script runs, which cannot be checked"))
                continue
            target = path.parent / name[1:-1]
            if token == "Include" or target.suffix.lower() not in DATA_SUFFIXES:
                found.extend(unsafe_commands(target, seen))
    return found


def check_geo(path) -> None:
    """Raise `MeshError` naming the file, line and command if the script ``path`` (or a file it
    includes) acts outside gmsh's model (see the module docstring)."""
    found = unsafe_commands(path)
    if found:
        more = f" (and {len(found) - 1} more such command{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        raise MeshError(f"{found[0]}{more}; refusing to run a .geo file that acts outside gmsh: pass trust=True "
                        f"(meshsim mesh from_geo --trust) only for a file you trust")
