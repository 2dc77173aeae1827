"""Every example runs end to end with --quick (a few steps), as a newcomer would run it."""
import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name != "common.py")


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_quick(script, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, script, "--quick", *(["--out", str(tmp_path)]
                          if script.startswith("compare_") else [])],
                         cwd=EXAMPLES, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip(), "the example printed nothing"
    if script.startswith("compare_"):
        assert list(tmp_path.glob("*.png")), "the comparison saved no plot"
