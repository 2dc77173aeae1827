"""Normalization (see ``../shared/catalog/normalization.md``): one file per family. Lowercase names in
``__all__`` are re-exported by ``minigrad.functional``, capitalised ones (Modules) by
``minigrad.layers``.

    batch.py      batch_norm, BatchNorm1d, BatchNorm2d; fuse_conv_bn_eval (inference folding)  (N001)
    layer.py      layer_norm, rms_norm, LayerNorm, RMSNorm                                     (N002, N003)
    group.py      group_norm, instance_norm, GroupNorm, InstanceNorm1d, InstanceNorm2d         (N004)
    weight.py     weight_norm, spectral_norm; apply_/remove_weight_norm, apply_/remove_spectral_norm,
                  init_weight_norm_from_data_ (module utilities)                              (N005, N006)
    vector.py     l2_normalize, normalize, l2_normalize_                                       (N007)
    residual.py   norm_residual, NormResidual (Pre-LN / Post-LN placement)                     (N008)

Each op is a ``Function`` named ``<Op>Fn`` (``LayerNormFn``) beside its functional form.
The module utilities (fusion, reparameterization hooks) are attributes of this package,
not ops, so they are not in ``__all__`` (and not in ``minigrad.functional``).
"""
from minigrad.layers.normalization.batch import (BatchNorm1d, BatchNorm2d, batch_norm,  # noqa: F401
                                                 fuse_conv_bn_eval, fuse_conv_bn_weights,
                                                 fuse_linear_bn_eval, fuse_linear_bn_weights)
from minigrad.layers.normalization.group import (GroupNorm, InstanceNorm1d, InstanceNorm2d,  # noqa: F401
                                                 group_norm, instance_norm)
from minigrad.layers.normalization.layer import LayerNorm, RMSNorm, layer_norm, rms_norm  # noqa: F401
from minigrad.layers.normalization.residual import NormResidual, norm_residual  # noqa: F401
from minigrad.layers.normalization.vector import l2_normalize, l2_normalize_, normalize  # noqa: F401
from minigrad.layers.normalization.weight import (apply_spectral_norm, apply_weight_norm,  # noqa: F401
                                                  init_weight_norm_from_data_,
                                                  remove_spectral_norm, remove_weight_norm,
                                                  spectral_norm, weight_norm)

__all__ = [
    "batch_norm", "layer_norm", "rms_norm", "group_norm", "instance_norm", "weight_norm",
    "spectral_norm", "l2_normalize", "l2_normalize_", "normalize", "norm_residual",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "RMSNorm", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "NormResidual",
]
