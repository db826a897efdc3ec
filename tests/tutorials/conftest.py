"""Load a tutorial script as a module and run its ``main`` with torch's thread count restored."""
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

TUTORIALS = Path(__file__).resolve().parents[2] / "tutorials"


@pytest.fixture
def run_tutorial(monkeypatch):
    """``run_tutorial(name, argv) -> main's return value`` for tutorials/<name>.py."""
    monkeypatch.syspath_prepend(str(TUTORIALS))  # the tutorials' shared _tutorial_cli

    def run(name: str, argv: list[str]):
        spec = importlib.util.spec_from_file_location(name, TUTORIALS / f"{name}.py")
        tutorial = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, tutorial)  # dataclasses look their module up
        spec.loader.exec_module(tutorial)
        threads = torch.get_num_threads()
        try:
            return tutorial.main(argv)
        finally:
            torch.set_num_threads(threads)
    return run
