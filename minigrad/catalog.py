"""``python -m minigrad.catalog``: list every registered op with the paper that introduced it.

    python -m minigrad.catalog                       # a table: name, kind, check, id, paper
    python -m minigrad.catalog --kind loss           # one kind
    python -m minigrad.catalog --json                # the registry as JSON, for tools
    python -m minigrad.catalog --markdown > docs/api.md   # the one-page API reference

The registry itself lives in ``minigrad.registry``; this module is its command line and
re-exports its names.

Which paper is shown. A registered entry's ``papers`` are the catalog row's papers: the
papers in ``../papers/`` that *use* the method, in the catalog's order, so the first one
is often a seed paper that happens to use ReLU or Adam, not the paper that introduced it
(the catalog's ``reference`` column names implementations, ``torch.nn.ReLU``, not papers).
The introducing paper is therefore taken from the op's own public docstring, which must
cite it as ``Authors YEAR, "Title"`` (see ``PAPER_RE``; ``tests/test_docs.py`` enforces
it for every public name that is not a primitive). Rule, in order:

1. the first ``Authors YEAR, "Title"`` citation in the docstring of the registered
   function, else of its Module class;
2. else, when that docstring calls the op a ``Primitive`` (plain tensor math, textbook
   statistics: no introducing paper), ``primitive (no introducing paper)``;
3. else the first registered paper, marked ``(seed paper; introducing paper not
   documented)`` so the gap is visible;
4. else nothing (registered primitives without papers).
"""
import inspect
import json
import re
import sys
import textwrap
import types

from minigrad.registry import CHECKS, KINDS, Case, Entry, entries, get, register  # noqa: F401

# A formula line: an equation with spaces around the sign (``y = x·Φ(x)``, ``m ← βm``,
# ``p := ...``), an arrow (``x → max(0, x)``, ``↦``) or a sum / product / derivative /
# gradient sign (Σ ∑ ∏ ∂ ∇). Doctest lines (``>>>``) do not count.
FORMULA_RE = re.compile(r"(?: = | := | ← |→|↦|[Σ∑∏∂∇])")

_AUTHOR = r"(?:(?:van|von|de|den|der|da|le|du|dos)\s+)*[A-Z][\w'’\-]*\.?"
_AUTHORS = (rf"{_AUTHOR}(?:(?:,\s*|\s*,?\s+(?:&|and)\s+){_AUTHOR}){{0,7}}"
            r"(?:\s+et\s+al\.?)?")
_YEAR = r"(?:19|20)\d\d[a-z]?"
_TITLE = r"[\"“](?P<{}>[^\"“”]{{4,}}?)[\"”]"
# A paper citation: ``Authors YEAR, "Title"`` (also ``Authors (YEAR) "Title"`` or
# ``Authors, YEAR: "Title"``), or ``"Title" (Authors YEAR)``; curly quotes work too, and
# the citation may wrap over lines.
PAPER_RE = re.compile(
    rf"(?P<authors>{_AUTHORS})[\s,]*\(?(?P<year>{_YEAR})\)?[\s,;:.(]*{_TITLE.format('title')}"
    rf"|{_TITLE.format('title2')}[\s,]*\((?P<authors2>{_AUTHORS})[\s,]+(?P<year2>{_YEAR})\)")


_PRIMITIVE_RE = re.compile(r"\bPrimitive\b")
_LABEL_RE = re.compile(r"\bPapers?\b[^:\n]{0,60}:")


def find_paper(doc):
    """The citation in ``doc`` as ``(authors, year, title)``, or None: the first one after a
    ``Paper:`` / ``Papers:`` label when the docstring has one, else the first anywhere."""
    doc = doc or ""
    label = _LABEL_RE.search(doc)
    m = (PAPER_RE.search(doc, label.end()) if label else None) or PAPER_RE.search(doc)
    if not m:
        return None
    if m.group("title"):
        authors, year, title = m.group("authors"), m.group("year"), m.group("title")
    else:
        authors, year, title = m.group("authors2"), m.group("year2"), m.group("title2")
    squash = lambda s: " ".join(s.split())  # noqa: E731
    return squash(authors), year, squash(title)


def has_formula(doc):
    """True when ``doc`` has a formula line (``FORMULA_RE``, doctest lines excluded)."""
    return any(FORMULA_RE.search(line) for line in (doc or "").splitlines()
               if not line.lstrip().startswith(">>>"))


def format_paper(paper):
    authors, year, title = paper
    return f'{authors} {year}, "{title}"'


def introducing_paper(entry):
    """The paper shown for a registry entry (the rule in this module's docstring)."""
    docs = [inspect.getdoc(obj) or "" for obj in (entry.fn, entry.module) if obj is not None]
    for doc in docs:
        found = find_paper(doc)
        if found:
            return format_paper(found)
    if any(_PRIMITIVE_RE.search(doc) for doc in docs):
        return "primitive (no introducing paper)"
    if entry.papers:
        return f'"{entry.papers[0]}" (seed paper; introducing paper not documented)'
    return ""


# -- the public surface ---------------------------------------------------------------

def _namespaces():
    import minigrad as mg
    return [("F", mg.functional), ("nn", mg.nn), ("optim", mg.optim), ("linalg", mg.linalg),
            ("fft", mg.fft), ("special", mg.special), ("func", mg.func)]


_HELPER_MODULES = ("minigrad.registry", "minigrad.ops._checks", "minigrad.backends",
                   "minigrad.tensor", "minigrad.ops.tensor_xp")


def public_names(prefix, ns):
    """The public names of one namespace as ``[(name, object)]``, sorted.

    F, nn, optim: every attribute not starting with ``_`` that is a function or a class
    (re-exported submodules such as ``optim.lr_scheduler`` and non-callables such as dtype
    constants are left out). linalg, fft, special, func (no ``__all__``; they import
    helpers): the lowercase functions defined in minigrad, less the engine's helpers and
    the private ``Function`` classes.
    """
    from minigrad.autograd import Function
    out = []
    for name in sorted(dir(ns)):
        if name.startswith("_"):
            continue
        obj = getattr(ns, name)
        if isinstance(obj, types.ModuleType) or not callable(obj):
            continue
        if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj)
                or callable(obj)):
            continue
        if inspect.isclass(obj) and issubclass(obj, Function):
            continue
        mod = getattr(obj, "__module__", "") or ""
        if prefix in ("linalg", "fft", "special", "func"):
            if (not name[:1].islower() or not mod.startswith("minigrad")
                    or mod.startswith(_HELPER_MODULES) or inspect.isclass(obj)
                    or (mod == "minigrad.autograd" and name != "grad")):
                continue
        elif inspect.isclass(obj) and not mod.startswith("minigrad"):
            continue
        if mod.startswith("minigrad.dtypes"):
            continue
        out.append((name, obj))
    return out


def _entry_index():
    by_obj, by_name = {}, {}
    for e in entries():
        by_obj.setdefault(id(e.fn), e)
        if e.module is not None:
            by_obj.setdefault(id(e.module), e)
        for n in (e.name,) + e.aliases:
            by_name.setdefault(n, e)
    return by_obj, by_name


def entry_for(name, obj, index=None):
    """The registry entry of a public name (by object, then by name), or None."""
    by_obj, by_name = index or _entry_index()
    e = by_obj.get(id(obj))
    if e is None and not inspect.isclass(obj):
        e = by_name.get(name)
    return e


_ADDR = re.compile(r" at 0x[0-9a-fA-F]+")


def signature(name, obj):
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        sig = "(...)"
    return name + _ADDR.sub("", sig)


def first_paragraph(doc):
    para = (doc or "").strip().split("\n\n")[0]
    return " ".join(para.split())


def first_formula(doc, max_lines=6):
    """The first formula line of ``doc``; when it sits in an indented block (a displayed
    formula or an update rule), the block from that line on (at most ``max_lines`` lines)."""
    lines = (doc or "").splitlines()
    for i, line in enumerate(lines):
        if FORMULA_RE.search(line) and not line.lstrip().startswith(">>>"):
            if not line[:1].isspace():
                return line.strip()
            indent = len(line) - len(line.lstrip())
            block = []
            for nxt in lines[i:i + max_lines]:
                if not nxt.strip() or len(nxt) - len(nxt.lstrip()) < indent:
                    break
                block.append(nxt[indent:].rstrip())
            return "\n".join(block)
    return ""


def markdown():
    """The API reference page (``docs/api.md``) as a string; deterministic."""
    index = _entry_index()
    out = ["# minigrad API reference", "",
           "Generated from the registry and the docstrings by",
           "`python -m minigrad.catalog --markdown > docs/api.md`; do not edit by hand",
           "(`tests/test_docs.py` fails when this page is out of date). `help(F.name)` shows",
           "the full docstring: forward math, backward, paper, arguments, deviations.", ""]
    spaces = _namespaces()
    out.append("Namespaces: " + ", ".join(f"[{p}](#{p.lower()})" for p, _ in spaces) + ".")
    out.append("")
    for prefix, ns in spaces:
        names = public_names(prefix, ns)
        out += [f"## {prefix}", "", f"`{ns.__name__}`: {len(names)} public names.", ""]
        for name, obj in names:
            doc = inspect.getdoc(obj) or ""
            e = entry_for(name, obj, index)
            out.append(f"### `{prefix}.{signature(name, obj)}`")
            out.append("")
            para = first_paragraph(doc) or "(no docstring)"
            out.append(para)
            formula = first_formula(doc)
            if formula and formula.splitlines()[0] not in doc.strip().split("\n\n")[0]:
                out.append("")
                out += [f"    {line}" for line in formula.splitlines()]
            out.append("")
            paper = find_paper(doc)
            facts = []
            if paper:
                facts.append(f"paper: {format_paper(paper)}")
            if e is not None:
                facts.append(f"check: {e.check} ({e.kind}{', ' + e.catalog_id if e.catalog_id else ''})")
            else:
                facts.append("check: not registered")
            out.append("- " + "; ".join(facts))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(prog="python -m minigrad.catalog",
                                 description="List every op minigrad implements.")
    ap.add_argument("--json", action="store_true", help="print a JSON array")
    ap.add_argument("--markdown", action="store_true",
                    help="print the API reference page (docs/api.md)")
    ap.add_argument("--kind", choices=KINDS)
    ap.add_argument("--width", type=int, default=100, help="wrap the table at this width")
    args = ap.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown())
        return 0
    rows = entries(kind=args.kind)
    if args.json:
        data = []
        for e in rows:
            d = e.as_json()
            d["introduced_by"] = introducing_paper(e)
            data.append(d)
        json.dump(data, sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    name_width = max([30] + [len(e.name) for e in rows])
    head = f"{'name':{name_width}} {'kind':13} {'check':9} {'id':6} "
    print(head + "paper (introducing)")
    indent = " " * len(head)
    width = max(args.width, len(head) + 20)
    for e in rows:
        paper = introducing_paper(e) or "-"
        lines = textwrap.wrap(paper, width - len(head)) or [""]
        print(f"{e.name:{name_width}} {e.kind:13} {e.check:9} {e.catalog_id or '':6} {lines[0]}")
        for line in lines[1:]:
            print(indent + line)
    print(f"{len(rows)} ops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
