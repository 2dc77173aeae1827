"""The registry: every op minigrad implements, with its paper(s) and how it is checked.

Each op is registered once, beside its code::

    register(gelu, name="gelu", kind="activation", papers=["Gaussian Error Linear Units (GELUs)"],
             inputs=lambda rng: Case(rng.standard_normal((3, 4))), module=GELU, catalog_id="A012")

The test suite, ``python -m minigrad.gradcheck`` and ``python -m minigrad.catalog``
all read from here, so registering an op is what puts it under test.

``check`` is how the op is proven:
  ``fd``      its backward must match float64 central finite differences;
  ``custom``  its backward is deliberately not the derivative (straight-through,
              stop-gradient...): ``backward_rule`` gives the documented rule, checked instead;
  ``fd+custom`` both: the generated cases marked ``custom=True`` use the rule;
  ``state``   an optimizer, schedule or stateful procedure, checked step by step
              against a transcription of the paper's update in the tests.

``checked_as`` is an optional deterministic wrapper the checks call instead of
``fn`` (dropout with a fixed generator, say); ``backward_rule(inputs, kwargs, gy)``
returns the documented gradients (NumPy arrays) of a ``custom`` op.

``python -m minigrad.catalog`` prints this registry as a table (``--json`` for tools).
"""
import dataclasses
from typing import Any, Callable, Optional

KINDS = ("primitive", "normalization", "activation", "loss", "optimizer", "layer")
CHECKS = ("fd", "custom", "fd+custom", "state")


class Case:
    """One set of inputs for an op: ``Case(*args, wrt=None, custom=False, **kwargs)``.

    Float NumPy arrays in ``args`` become float64 tensors that require a gradient
    (all of them, or those whose positions are in ``wrt``); integer and boolean
    arrays become constant tensors; anything else is passed unchanged. ``kwargs``
    are passed unchanged except arrays, which become constant tensors.
    ``custom=True`` checks this case against the entry's ``backward_rule``
    instead of finite differences. ``atol``/``rtol`` loosen the check for this case.
    """

    def __init__(self, *args, wrt=None, custom=False, atol=None, rtol=None, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.wrt, self.custom, self.atol, self.rtol = wrt, custom, atol, rtol

    def __repr__(self):
        shapes = [getattr(a, "shape", a) for a in self.args]
        return f"Case({shapes}, {self.kwargs})"


@dataclasses.dataclass
class Entry:
    name: str
    fn: Callable
    kind: str
    check: str
    papers: tuple
    inputs: Optional[Callable]
    aliases: tuple
    module: Any
    catalog_id: Optional[str]
    backward_rule: Optional[Callable]
    checked_as: Optional[Callable]

    @property
    def check_fn(self):
        """What the checks call: ``fn`` itself, or a deterministic wrapper of it
        (a random op with a fixed generator, a layer built with fixed weights)."""
        return self.checked_as or self.fn

    @property
    def target(self):
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    def cases(self, rng):
        """The generated input cases (a list of ``Case``)."""
        if self.inputs is None:
            return []
        made = self.inputs(rng)
        return list(made) if isinstance(made, (list, tuple)) else [made]

    def as_json(self):
        return {"name": self.name, "kind": self.kind, "check": self.check,
                "papers": list(self.papers), "aliases": list(self.aliases),
                "target": self.target, "id": self.catalog_id,
                "module": (f"{self.module.__module__}.{self.module.__qualname__}"
                           if self.module is not None else None)}


_REGISTRY = {}


def register(fn, name=None, kind="primitive", check="fd", papers=(), inputs=None,
             aliases=(), module=None, catalog_id=None, backward_rule=None, checked_as=None):
    """Register ``fn`` (a functional op, optimizer class or procedure) in the catalog."""
    name = name or fn.__name__
    if kind not in KINDS:
        raise ValueError(f"register({name!r}): kind must be one of {KINDS}, got {kind!r}")
    if check not in CHECKS:
        raise ValueError(f"register({name!r}): check must be one of {CHECKS}, got {check!r}")
    if check in ("fd", "custom", "fd+custom") and inputs is None:
        raise ValueError(f"register({name!r}): a '{check}' op needs an input generator")
    if check in ("custom", "fd+custom") and backward_rule is None:
        raise ValueError(f"register({name!r}): a '{check}' op needs its backward_rule")
    key = (kind, name)
    if key in _REGISTRY:
        raise ValueError(f"register({name!r}): {kind} {name!r} is already registered "
                         f"(by {_REGISTRY[key].target})")
    _REGISTRY[key] = Entry(name, fn, kind, check, tuple(papers), inputs, tuple(aliases),
                           module, catalog_id, backward_rule, checked_as)
    return fn


def entries(kind=None, names=None):
    """Registered entries (all of minigrad is imported first), sorted by kind and name."""
    import minigrad  # noqa: F401  (importing registers everything)
    found = [e for e in _REGISTRY.values()
             if (kind is None or e.kind == kind)
             and (not names or e.name in names or set(e.aliases) & set(names))]
    return sorted(found, key=lambda e: (KINDS.index(e.kind), e.name))


def get(name, kind=None):
    matches = entries(kind=kind, names=[name])
    if not matches:
        raise KeyError(f"no registered op named {name!r}" + (f" of kind {kind}" if kind else ""))
    return matches[0]
