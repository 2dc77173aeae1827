"""examples/from_pytorch.py is a PyTorch script whose only change is its imports (issue:
PyTorch habits work). It trains an MLP and a small CNN; here, one epoch each."""
import pathlib
import re
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "examples" / "from_pytorch.py"


def test_only_the_imports_name_minigrad():
    code = SCRIPT.read_text().split('"""', 2)[2]          # after the module docstring
    lines = [line for line in code.splitlines() if "minigrad" in line]
    assert lines and all(re.match(r"(import|from) minigrad", line) for line in lines), lines
    assert len(lines) == 4


def test_the_pytorch_script_trains_on_minigrad():
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                         text=True, timeout=300, cwd=SCRIPT.parent)
    assert out.returncode == 0, out.stderr[-3000:]
    accuracy = {name: float(acc) for name, acc in
                re.findall(r"^(MLP|CNN) .*test accuracy ([\d.]+)%", out.stdout, re.M)}
    assert set(accuracy) == {"MLP", "CNN"}, out.stdout
    assert accuracy["MLP"] > 70.0, out.stdout          # one epoch on the digits (85.5% seen)
    assert accuracy["CNN"] > 20.0, out.stdout          # chance is 10% (43% seen)
