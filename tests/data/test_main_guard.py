"""`generate(..., workers=2)` in a script: refused up front without a main guard, a one-line
DatasetError when a worker dies, and working under the guard (scripts run by subprocess)."""
import subprocess
import sys
import textwrap

import pytest

from meshsim.data.main_guard import _guarded


def _script(tmp_path, body: str) -> subprocess.CompletedProcess:
    recipe = tmp_path / "tiny.toml"
    recipe.write_text('name = "tiny"\nproblem = "darcy"\nsamples_per_shard = 1\n[splits]\ntrain = 2\n'
                      '[params]\nh = 0.3\nn_modes = 8\n')
    script = tmp_path / "make_data.py"
    script.write_text(textwrap.dedent(body).format(recipe=str(recipe), out=str(tmp_path / "out")))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)


def test_an_unguarded_script_is_refused_before_any_work(tmp_path):
    run = _script(tmp_path, """\
        from meshsim.data import generate
        print("importing")
        generate({recipe!r}, {out!r}, workers=2, progress=False)
        """)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("meshsim.data.errors.DatasetError: generate(..., workers=2) runs at the top level of")
    assert "make_data.py (line 3)" in last and 'if __name__ == "__main__":' in last
    assert run.stdout == "importing\n" and not (tmp_path / "out").exists()


def test_a_worker_that_dies_gives_a_one_line_dataset_error(tmp_path):
    """A guard the static check cannot read: the workers re-import the script, reach generate()
    and exit quietly; the parent raises one DatasetError instead of BrokenProcessPool."""
    run = _script(tmp_path, """\
        from meshsim.data import generate
        if __name__ != "some other name":
            generate({recipe!r}, {out!r}, workers=2, progress=False)
        """)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("meshsim.data.errors.DatasetError: a worker process ended abruptly")
    assert "BrokenProcessPool" not in run.stderr and "bootstrapping" not in run.stderr
    assert sum("Traceback" in line for line in lines) == 1  # the parent's only


def test_a_guarded_script_generates(tmp_path):
    run = _script(tmp_path, """\
        from meshsim.data import generate

        if __name__ == "__main__":
            meta = generate({recipe!r}, {out!r}, workers=2, progress=False)
            print(meta["counts"])
        """)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "{{'train': 2}}\n".format() and len(list((tmp_path / "out").glob("shard-*.h5"))) == 2


@pytest.mark.parametrize("source,line,expected", [
    ("import x\nx.generate()\n", 2, False),
    ("import x\nif __name__ == '__main__':\n    x.generate()\n", 3, True),
    ("import x\nif '__main__' == __name__:\n    for i in range(2):\n        x.generate()\n", 4, True),
    ("import x\nif __name__ == '__main__':\n    pass\nelse:\n    x.generate()\n", 5, None),
    ("import x\nfor i in range(2):\n    with open('f'):\n        x.generate()\n", 4, False),
    ("import x\ntry:\n    x.generate()\nexcept ValueError:\n    pass\n", 3, False),
    ("import x\nif __name__ != 'x':\n    x.generate()\n", 3, None),
    ("import x\ndef main():\n    x.generate()\nif __name__ == '__main__':\n    main()\n", 5, True),
    ("import x\ndef main():\n    x.generate()\n", 3, None),  # the script changed since it started
    ("import x\ny = 1\n", 2, None),
])
def test_guard_detection(source, line, expected):
    import ast

    assert _guarded(ast.parse(source), line) is expected
