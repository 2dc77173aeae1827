"""Every example runs end to end with --quick (a few steps), as a newcomer would run it."""
import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name != "common.py")
LOSS_DEMOS = ("noisy_labels.py", "long_tail.py")     # comparisons too: --out and a plot


def saves_plot(script):
    return script.startswith("compare_") or script in LOSS_DEMOS


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_quick(script, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, script, "--quick", *(["--out", str(tmp_path)]
                          if saves_plot(script) else [])],
                         cwd=EXAMPLES, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip(), "the example printed nothing"
    if saves_plot(script):
        assert list(tmp_path.glob("*.png")), "the comparison saved no plot"


def test_compare_activations_covers_every_registered_activation(monkeypatch):
    """Each registered activation is compared (a recipe, or a Module built with no
    argument) or named in EXCLUDED with the reason."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import compare_activations as ca
    names = ca.activation_entries()
    uncovered = [n for n in names if n not in ca.EXCLUDED and ca.recipe(n) is None]
    assert not uncovered, f"add a recipe (RECIPES) or a reason (EXCLUDED) for {uncovered}"
    assert set(ca.EXCLUDED) <= set(names), set(ca.EXCLUDED) - set(names)


# The registered losses of these modules belong in the table of the demo named here.
LOSS_DEMO_MODULES = {"noisy_labels": ("noisy_labels", "robust_dro", "calibration",
                                      "classification_variants"),
                     "long_tail": ("long_tail",)}


@pytest.mark.parametrize("demo", sorted(LOSS_DEMO_MODULES))
def test_loss_demo_covers_its_family(demo, monkeypatch):
    """Each registered loss of the demo's modules is in a recipe or named in NOT_COMPARED
    with the reason, so a new row of the family is compared (or explained) once registered."""
    from minigrad import registry
    monkeypatch.syspath_prepend(str(EXAMPLES))
    mod = __import__(demo)
    family = [e.name for e in registry.entries(kind="loss")
              if e.fn.__module__.rsplit(".", 1)[-1] in LOSS_DEMO_MODULES[demo]]
    used = {op for r in mod.RECIPES.values() for op in r.needs}
    uncovered = [n for n in family if n not in used and n not in mod.NOT_COMPARED]
    assert not uncovered, f"{demo}.py: add a recipe or a NOT_COMPARED reason for {uncovered}"


def test_loss_demos_name_the_recipes_they_cannot_run(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import common
    import noisy_labels
    recipes = dict(noisy_labels.RECIPES, future=noisy_labels.Recipe(
        ("cross_entropy", "no_such_loss"), "robust", "", None))
    runnable, missing = common.split_recipes(recipes)
    assert missing == {"future": ["no_such_loss"]}
    assert "future" not in runnable and "ce" in runnable
    assert "recipe future: not run, not registered (yet): no_such_loss" in capsys.readouterr().out


def test_noisy_labels_flips_as_the_apl_code(monkeypatch):
    """int(int(rate·n)/C) labels of each class, each to another class; deterministic."""
    import numpy as np
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import noisy_labels
    y = np.repeat(np.arange(10), 50)
    noisy = noisy_labels.symmetric_noise(y, 0.4, seed=3)
    flipped = noisy != y
    assert [int(flipped[y == c].sum()) for c in range(10)] == [20] * 10
    assert ((noisy >= 0) & (noisy < 10)).all()
    np.testing.assert_array_equal(noisy, noisy_labels.symmetric_noise(y, 0.4, seed=3))
    assert (noisy_labels.symmetric_noise(y, 0.0, seed=3) == y).all()


def test_long_tail_follows_the_ldam_drw_profile(monkeypatch):
    import numpy as np
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import long_tail
    y = np.repeat(np.arange(10), [60, 70, 80, 90, 100, 100, 100, 100, 100, 100])
    rows = long_tail.long_tailed(y, 10.0, seed=0)
    assert len(set(rows.tolist())) == len(rows)
    counts = np.bincount(y[rows], minlength=10)
    assert counts.tolist() == [int(60 * 10.0 ** (-k / 9)) for k in range(10)]
    np.testing.assert_array_equal(rows, long_tail.long_tailed(y, 10.0, seed=0))
