"""Independent forward references, one file per family: each defines ``ORACLES``, a
dict from a registered op's name to a function on NumPy float64 arrays that
computes the same forward another way (a naive loop, the closed form written
differently, the paper's formula). ``tests/test_registry.py`` compares every
registered op's forward with its oracle on every generated case."""
import importlib
import pkgutil


def all_oracles():
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, fn in module.ORACLES.items():
            if name in found:
                raise ValueError(f"two oracles for {name!r}")
            found[name] = fn
    return found
