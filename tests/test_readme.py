"""The README's commands are the ones CI runs, and its tour runs as written."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    test_command = next(b for b in blocks if "pytest" in b).strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_readme_main_example_exists():
    readme = (ROOT / "README.md").read_text()
    main = re.findall(r"\.venv/bin/python (examples/\S+\.py)", readme)
    assert main and all((ROOT / m).exists() for m in main)


def test_the_tour_runs(tmp_path, monkeypatch):
    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    tour = re.search(r"## A tour\n\n```python\n(.*?)\n```", readme, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(tour, "README tour", "exec"), namespace)
    assert (tmp_path / "cnn.npz").exists()
    assert namespace["x"].grad is not None and namespace["loss"].item() > 0
