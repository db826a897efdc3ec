"""Local worker processes and the main script: `check_main_guard` and `in_worker_bootstrap`.

`generate` starts its local workers with the forkserver (or spawn) start method, and each
worker re-imports the main script to start, as `multiprocessing` does. A script that calls
``generate(..., workers=2)`` at its top level, outside ``if __name__ == "__main__":``, would
run that call again in every worker, which then dies (`BrokenProcessPool`). `check_main_guard`
finds such a call before any worker starts, from the call stack and the script's syntax tree;
`in_worker_bootstrap` lets a worker that reaches `generate` while re-importing exit quietly
in the cases the check cannot see.
"""
from __future__ import annotations

import ast
import multiprocessing
import sys
from pathlib import Path

from .errors import DatasetError


def in_worker_bootstrap() -> bool:
    """Whether this process is a `multiprocessing` child still importing the main script."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _is_main_guard(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` (either operand order)."""
    if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1
            and isinstance(node.test.ops[0], ast.Eq)):
        return False
    operands = [node.test.left, *node.test.comparators]
    names = [o.id for o in operands if isinstance(o, ast.Name)]
    texts = [o.value for o in operands if isinstance(o, ast.Constant)]
    return names == ["__name__"] and texts == ["__main__"]


def _child_statements(node: ast.AST) -> list[ast.stmt]:
    """Statements directly inside ``node`` (bodies, else and finally blocks, except and case blocks)."""
    out = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt):
            out.append(child)
        elif isinstance(child, (ast.excepthandler, ast.match_case)):
            out.extend(_child_statements(child))
    return out


def _tests_name(node: ast.AST) -> bool:
    """Whether ``node`` is an ``if`` whose test reads ``__name__`` (a main guard of any form)."""
    return isinstance(node, ast.If) and any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(node.test))


def _guarded(tree: ast.Module, line: int) -> bool | None:
    """False if the top-level code running a call at ``line`` is in no ``if`` that tests
    ``__name__``; True if it is in the body of ``if __name__ == "__main__":``; None if that
    cannot be told (e.g. the file changed since it started: no call of the module's own code
    at that line)."""
    body = tree.body
    while True:
        statement = next((s for s in body if s.lineno <= line <= (s.end_lineno or s.lineno)), None)
        if statement is None or isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return None  # module-level code never runs inside a def or class body
        if _is_main_guard(statement) and statement.body[0].lineno <= line <= statement.body[-1].end_lineno:
            return True
        if _tests_name(statement):
            return None
        nested = _child_statements(statement)
        if not any(s.lineno <= line <= (s.end_lineno or s.lineno) for s in nested):
            calls = [n for n in ast.walk(statement) if isinstance(n, ast.Call) and n.lineno <= line <= n.end_lineno]
            return False if calls else None
        body = nested


def check_main_guard(what: str) -> None:
    """Raise `DatasetError` if ``what`` (e.g. ``"generate(..., workers=2)"``) is being run by the
    top-level code of the main script outside ``if __name__ == "__main__":``, where worker
    processes would run it again."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:  # interactive session or python -c: workers do not re-import anything
        return
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_name == "<module>" and frame.f_globals is main.__dict__):
        frame = frame.f_back
    if frame is None or Path(frame.f_code.co_filename).resolve() != Path(path).resolve():
        return
    try:
        tree = ast.parse(Path(path).read_text(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return
    if _guarded(tree, frame.f_lineno) is False:
        raise DatasetError(f"{what} runs at the top level of {path} (line {frame.f_lineno}); worker processes "
                           f"re-import that script and would run it again: put the call under "
                           f"`if __name__ == \"__main__\":` (or use workers=1)")
