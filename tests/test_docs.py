"""help() teaches the math (issue 11): every public name of ``minigrad.functional`` (F),
``minigrad.nn`` and ``minigrad.optim`` documents its formula and its paper, the catalog
CLI shows each op's introducing paper with its full title, and ``docs/api.md`` is the
generated API page, in sync with the code.

The rule checked on each public name's OWN docstring (``inspect.getdoc(obj)``, what
``help(obj)`` shows):

* a formula: at least one line (not a ``>>>`` line) with an equation sign written with
  spaces around it (`` = ``, `` := ``, `` ← ``), an arrow (``→``, ``↦``) or one of
  ``Σ ∑ ∏ ∂ ∇`` (``minigrad.catalog.FORMULA_RE``);
* a paper: a citation ``Authors YEAR, "Title"`` (or ``"Title" (Authors YEAR)``), authors
  starting with a capital, a year 19xx/20xx, the title in straight or curly quotes
  (``minigrad.catalog.PAPER_RE``). Exempt from the paper: the primitives, i.e. (1) the
  names registered with kind ``"primitive"`` (under their name or an alias), (2) every
  name whose object is defined in a primitive-op module (``minigrad.ops.*``: elementwise,
  reductions, shape, indexing, sorting, comparison, complex, linalg, conv, pooling; and
  ``minigrad.special``), as DESIGN.md lays them out, except the non-primitive ops listed in
  ``NOT_PRIMITIVE``, and (3) the plain tensor operations, textbook losses and containers
  listed in ``PRIMITIVES`` below.
* ``NO_MATH``: base classes and containers with no math of their own (``Module``,
  ``Parameter``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``,
  ``Optimizer``) are exempt from both.

"Public name": every attribute of F, nn and optim not starting with ``_`` that is a
function or a class defined in minigrad (re-exported submodules such as
``optim.lr_scheduler`` and non-callables such as dtype constants are left out): see
``minigrad.catalog.public_names``.
"""
import inspect
import pathlib
import re

import pytest

import minigrad as mg
from minigrad import catalog
from minigrad.catalog import find_paper, has_formula, public_names

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Plain tensor math (no introducing paper): unregistered or registered under another kind.
PRIMITIVES = {
    # elementwise / complex / casting
    "cast", "imag", "real", "view_as_complex", "view_as_real", "polar", "angle",
    # reductions, search and sorting
    "argmax", "argmin", "argsort", "max", "min", "sum", "mean", "var", "std", "logsumexp",
    # indexing / shape
    "one_hot", "getitem", "gather", "take_along_axis", "index_select", "masked_fill",
    # masks for attention (boolean tensors, no math to cite)
    "causal_mask", "block_causal_mask", "padding_mask",
    # plain pooling / convolution / linear maps
    "adaptive_max_pool1d", "adaptive_max_pool2d", "global_avg_pool2d", "global_max_pool2d",
    "avg_pool", "max_pool", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d",
    "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "linear", "Linear", "bilinear", "Bilinear",
    # module containers with a one-line composition formula
    "Sequential", "Flatten", "Identity",
    # plain activations that are elementary functions
    "sigmoid", "Sigmoid", "tanh", "Tanh", "log_sigmoid", "logsigmoid", "LogSigmoid", "tanhshrink", "Tanhshrink", "normalize",
    "l2_normalize", "l2_normalize_",
    # plain regression losses and penalties (textbook statistics)
    "mse_loss", "MSELoss", "l1_loss", "L1Loss", "nll_loss", "NLLLoss", "l1_penalty",
    "L1Penalty", "l2_penalty", "L2Penalty", "msle_loss", "MSLELoss", "mape_loss",
    "MAPELoss", "rmse_loss", "RMSELoss", "entropy_loss", "EntropyLoss", "kl_div", "kl_div_loss",
    "KLDivLoss", "poisson_nll_loss", "PoissonNLLLoss", "log_cosh_loss", "LogCoshLoss",
    "clip_grad_value_",
}
NO_MATH = {"Module", "Parameter", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
           "Optimizer"}
# Defined under minigrad.ops but introduced by a paper: they must cite it.
NOT_PRIMITIVE = {"dropout", "conv_transpose2d"}
PRIMITIVE_MODULES = ("minigrad.ops.", "minigrad.special")


def _is_primitive(name, obj, registered):
    if name in NOT_PRIMITIVE:
        return False
    module = getattr(obj, "__module__", "") or ""
    return name in registered or module.startswith(PRIMITIVE_MODULES)


def _primitive_names():
    from minigrad.registry import entries
    names = set(PRIMITIVES)
    for e in entries(kind="primitive"):
        names.add(e.name)
        names.update(e.aliases)
    return names


def audit():
    """``(names, failures)``: every public name of F, nn, optim as ``prefix.name`` and
    ``{prefix.name: [what is missing]}``."""
    import minigrad as mg
    primitives = _primitive_names()
    names, failures = [], {}
    for prefix, ns in (("F", mg.functional), ("nn", mg.nn), ("optim", mg.optim)):
        for name, obj in public_names(prefix, ns):
            full = f"{prefix}.{name}"
            names.append(full)
            if name in NO_MATH:
                continue
            doc = inspect.getdoc(obj) or ""
            missing = []
            if not has_formula(doc):
                missing.append("formula")
            if not _is_primitive(name, obj, primitives) and not find_paper(doc):
                missing.append("paper")
            if missing:
                failures[full] = missing
    return names, failures


def test_rules_on_hand_written_docstrings():
    assert find_paper('Ba, Kiros & Hinton 2016, "Layer Normalization".') == (
        "Ba, Kiros & Hinton", "2016", "Layer Normalization")
    assert find_paper('Kingma & Ba (2015), "Adam: A Method\n    for Stochastic Optimization"') == (
        "Kingma & Ba", "2015", "Adam: A Method for Stochastic Optimization")
    assert find_paper('“Gaussian Error Linear Units (GELUs)” (Hendrycks & Gimpel 2016)') == (
        "Hendrycks & Gimpel", "2016", "Gaussian Error Linear Units (GELUs)")
    assert find_paper('van den Oord, Li & Vinyals 2018, "Representation Learning with '
                      'Contrastive Predictive Coding"')[0] == "van den Oord, Li & Vinyals"
    # A year without a title, or a title without authors and year, is not a citation.
    assert find_paper("Adam (Kingma & Ba 2015), with AMSGrad") is None
    assert find_paper('ArcFace ("ArcFace: Additive Angular Margin Loss")') is None
    assert has_formula("y = max(0, x)") and has_formula("m ← βm + (1 − β)g")
    assert has_formula("ℓ = Σ_c t_c log p_c") and has_formula("x (N, C) → (N, O)")
    assert not has_formula("eps=1e-5, momentum=0.1")
    assert not has_formula(">>> y = f(x)")


def test_every_public_name_documents_formula_and_paper():
    names, failures = audit()
    assert len(names) > 300, len(names)
    lines = "\n".join(f"  {n}: missing {', '.join(m)}" for n, m in sorted(failures.items()))
    assert not failures, (f"{len(failures)} of {len(names)} public names lack a formula line "
                          f"or an 'Authors YEAR, \"Title\"' citation (rule: tests/test_docs.py "
                          f"docstring):\n{lines}")


def test_wrappers_point_to_their_function():
    # The math of these ops lives in a Function; the public docstring names it so that
    # help() reaches the derivation.
    import minigrad.functional as F
    for fn, target in ((F.layer_norm, "LayerNormFn"), (F.batch_norm, "BatchNormFn"),
                       (F.gelu, "GeluFn"), (F.softmax, "SoftmaxFn")):
        assert target in inspect.getdoc(fn), (fn.__name__, target)


def test_help_pointers_resolve():
    # Every "help(minigrad.a.b.Name)" pointer in a public docstring names a real object, so
    # that help() reaches the Function holding the derivation.
    import importlib
    pointer = re.compile(r"help\((minigrad(?:\.\w+)+)\)")
    seen = 0
    for prefix, ns in (("F", mg.functional), ("nn", mg.nn), ("optim", mg.optim)):
        for name, obj in public_names(prefix, ns):
            for target in pointer.findall(inspect.getdoc(obj) or ""):
                module, _, attr = target.rpartition(".")
                found = getattr(importlib.import_module(module), attr, None)
                assert found is not None and inspect.getdoc(found), (f"{prefix}.{name}", target)
                seen += 1
    assert seen >= 40, seen


def test_catalog_shows_introducing_paper_with_full_title(capsys):
    from minigrad.catalog import main
    assert main(["--width", "100"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    col = out.splitlines()[0].index("paper")
    rows = {}
    current = None
    for line in out.splitlines()[1:-1]:
        if line[:1] != " ":
            current = line.split()[0]
            rows[current] = line[col:]
        else:
            rows[current] += " " + line.strip()
    # ReLU's first seed paper is "Wide and Deep Neural Networks Achieve Optimality for
    # Classification"; the introducing paper is Nair & Hinton 2010.
    assert rows["relu"].startswith("Nair & Hinton 2010")
    assert "Wide and Deep" not in rows["relu"]
    assert rows["layer_norm"] == 'Ba, Kiros & Hinton 2016, "Layer Normalization"'
    full = ('Ioffe & Szegedy 2015, "Batch Normalization: Accelerating Deep Network Training '
            'by Reducing Internal Covariate Shift"')
    assert rows["batch_norm"] == full          # longer than 60 characters, wrapped, whole
    assert rows["adam"] == 'Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"'
    # A "Paper:" label wins over an earlier citation of a later paper in the same docstring.
    assert rows["cross_entropy"].startswith('Bridle 1990, "Probabilistic Interpretation')
    assert rows["mse_loss"] == "primitive (no introducing paper)"

    import json
    assert main(["--json", "--kind", "normalization"]) == 0
    data = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert data["layer_norm"]["introduced_by"] == 'Ba, Kiros & Hinton 2016, "Layer Normalization"'
    assert "Layer Normalization" in data["layer_norm"]["papers"]   # the seed papers stay listed


def test_api_md_is_generated_and_in_sync():
    page = catalog.markdown()
    assert page == catalog.markdown()                       # deterministic
    for section in ("## F", "## nn", "## optim", "## linalg", "## fft", "## special", "## func"):
        assert f"\n{section}\n" in page
    assert re.search(r"### `F\.layer_norm\(x, normalized_shape", page)
    path = ROOT / "docs" / "api.md"
    assert path.exists(), "docs/api.md is missing: run python -m minigrad.catalog --markdown > docs/api.md"
    assert path.read_text(encoding="utf-8") == page, (
        "docs/api.md is out of date: regenerate it with "
        "`python -m minigrad.catalog --markdown > docs/api.md`")
