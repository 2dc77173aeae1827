"""Activations (see ``../shared/catalog/activations.md``): one file per family. Lowercase names in
``__all__`` are re-exported by ``minigrad.functional``, capitalised ones (Modules) by
``minigrad.layers``."""
__all__ = []
