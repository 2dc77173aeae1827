"""Everything a network is made of: Module/Parameter and the layers (``minigrad.layers``,
also available as ``minigrad.nn``). Each family package lists its Modules in ``__all__``
(capitalised names) and they are re-exported here."""
from minigrad.layers.module import (Flatten, Identity, Module, ModuleDict, ModuleList,  # noqa: F401
                                    Parameter, Sequential)


def _export_modules():
    from minigrad.layers import activations, losses, normalization
    for family in (activations, normalization, losses):
        for name in family.__all__:
            if name[:1].isupper():
                globals()[name] = getattr(family, name)


_export_modules()
