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
    batch_variants.py  ghost_batch_norm, alpha_batch_norm, ibn; GhostBatchNorm1d/2d,
                  AlphaBatchNorm2d, IBN                                            (N009, N010, N013)
    batch_channel.py  batch_channel_norm, BatchChannelNorm2d (EstBN + group norm)             (N012)
    adab2n.py     adab2n, AdaB2N2d (task-balanced BN statistics, continual learning)          (N011)
    l1_deviation.py  l1_deviation_norm, L1BatchNorm1d, L1BatchNorm2d, L1LayerNorm              (N017)
    region.py     region_norm_b, region_norm_l, RegionNormB2d, RegionNormL2d (inpainting masks) (N014, N015)
    spiking.py    mp_batch_norm, MPBNLIF2d, LIF; fold_mpbn_threshold (module utility)      (N016)
    evonorm.py    evonorm_b0, evonorm_s0, EvoNorm2dB0, EvoNorm2dS0 (normalization-activation)  (N018, N019)
    running.py    power_norm, unified_norm, online_norm; PowerNorm, UnifiedNorm, OnlineNorm1d,
                  OnlineNorm2d (streaming statistics, approximate backward)   (N020, N021, N022)
    memory_sharing.py  ms_norm, MSLayerNorm, MSRMSNorm; merge_norm_affine_into_linear
                  (utility) (backward from the saved output)                  (N023)
    manifold.py   gbw_batch_norm, lie_batch_norm, GBWBatchNorm, LieBatchNorm (SPD matrices),  (N054, N055,
                  poincare_batch_norm, PoincareBatchNorm (Poincaré ball)                      N053)
    transformer_norms.py  scale_norm, rescale_norm, dyt, elementwise_layer_norm; ScaleNorm,
                  RescaleNorm, DyT, ElementwiseLayerNorm (LayerNorm replacements) (N024, N026, N031, N032)
    transformer_blocks.py  qk_norm, deep_norm, normformer_block, peri_ln_residual, ngpt_normalize;
                  QKNormAttention, DeepNorm, NormFormerLayer, PeriLNResidual, NGPTResidual;
                  qk_norm_init, deep_norm_constants, deep_norm_init_, ngpt_residual,
                  ngpt_normalize_ (utilities)                          (N025, N027, N028, N029, N030)
    style.py      adain, functional_instance_norm, pc_norm; AdaIN, FunctionalInstanceNorm2d, PCNorm2d,
                  CCNorm2d, SCNorm2d (style and frequency-domain norms)    (N033, N034, N035)
    weight_space.py  weight_standardization, scaled_weight_standardization, unit_norm_weight,
                  nf_residual; StdConv2d, ScaledStdConv2d, NFResidual; apply_weight_standardization,
                  apply_scaled_weight_standardization, apply_unit_norm_weight, nf_expected_stds
                                                                             (N036–N039)
    weight_scaling.py  statsq_weight_scale, analog_lp_norm, gradnormlorp_weight; LPNorm (and
                  L1Norm, L2Norm, ...W, ...M variants), GradNormLoRPLinear;
                  apply_statsq_weight_scale                                  (N040, N043, N044)
    feature.py    feature_norm, logit_clip, z_normalize, adaface_norm_stat, msg_norm, phi_s; FeatureNorm,
                  LogitClip, ZNormalize, AdaFaceNormStat, MessageNorm, PHIS (vectors, logits) (N045–N050)
    flows.py      gdn, act_norm; GDN, IGDN, ActNorm (compression and flow layers)           (N051, N052)

Each op is a ``Function`` named ``<Op>Fn`` (``LayerNormFn``) beside its functional form.
The module utilities (fusion, reparameterization hooks) are attributes of this package,
not ops, so they are not in ``__all__`` (and not in ``minigrad.functional``).
"""
from minigrad.layers.normalization.batch import (BatchNorm1d, BatchNorm2d, batch_norm,  # noqa: F401
                                                 fuse_conv_bn_eval, fuse_conv_bn_weights,
                                                 fuse_linear_bn_eval, fuse_linear_bn_weights)
from minigrad.layers.normalization.adab2n import AdaB2N2d, adab2n  # noqa: F401
from minigrad.layers.normalization.batch_channel import (BatchChannelNorm2d,  # noqa: F401
                                                         batch_channel_norm)
from minigrad.layers.normalization.batch_variants import (  # noqa: F401
    IBN, AlphaBatchNorm2d, GhostBatchNorm1d, GhostBatchNorm2d, alpha_batch_norm,
    ghost_batch_norm, ibn)
from minigrad.layers.normalization.evonorm import (EvoNorm2dB0, EvoNorm2dS0, evonorm_b0,  # noqa: F401
                                                   evonorm_s0)
from minigrad.layers.normalization.feature import (PHIS, AdaFaceNormStat, FeatureNorm,  # noqa: F401
                                                   LogitClip, MessageNorm, ZNormalize,
                                                   adaface_norm_stat, feature_norm, logit_clip,
                                                   msg_norm, phi_s, z_normalize)
from minigrad.layers.normalization.flows import GDN, IGDN, ActNorm, act_norm, gdn  # noqa: F401
from minigrad.layers.normalization.group import (GroupNorm, InstanceNorm1d, InstanceNorm2d,  # noqa: F401
                                                 group_norm, instance_norm)
from minigrad.layers.normalization.l1_deviation import (L1BatchNorm1d, L1BatchNorm2d,  # noqa: F401
                                                        L1LayerNorm, l1_deviation_norm)
from minigrad.layers.normalization.layer import LayerNorm, RMSNorm, layer_norm, rms_norm  # noqa: F401
from minigrad.layers.normalization.manifold import (GBWBatchNorm, LieBatchNorm,  # noqa: F401
                                                    PoincareBatchNorm, gbw_batch_norm,
                                                    lie_batch_norm, poincare_batch_norm)
from minigrad.layers.normalization.memory_sharing import (MSLayerNorm, MSRMSNorm,  # noqa: F401
                                                          merge_norm_affine_into_linear, ms_norm)
from minigrad.layers.normalization.spiking import (LIF, MPBNLIF2d,  # noqa: F401
                                                   fold_mpbn_threshold, mp_batch_norm)
from minigrad.layers.normalization.region import (RegionNormB2d, RegionNormL2d,  # noqa: F401
                                                  region_norm_b, region_norm_l)
from minigrad.layers.normalization.residual import NormResidual, norm_residual  # noqa: F401
from minigrad.layers.normalization.running import (OnlineNorm1d, OnlineNorm2d, PowerNorm,  # noqa: F401
                                                   UnifiedNorm, online_norm, power_norm,
                                                   unified_norm)
from minigrad.layers.normalization.transformer_blocks import (  # noqa: F401
    DeepNorm, NGPTResidual, NormFormerLayer, PeriLNResidual, QKNormAttention, deep_norm,
    deep_norm_constants, deep_norm_init_, ngpt_normalize, ngpt_normalize_, ngpt_residual,
    normformer_block, peri_ln_residual, qk_norm, qk_norm_init)
from minigrad.layers.normalization.transformer_norms import (  # noqa: F401
    DyT, ElementwiseLayerNorm, RescaleNorm, ScaleNorm, dyt, elementwise_layer_norm,
    rescale_norm, scale_norm)
from minigrad.layers.normalization.style import (AdaIN, CCNorm2d,  # noqa: F401
                                                 FunctionalInstanceNorm2d, PCNorm2d, SCNorm2d,
                                                 adain, functional_instance_norm, pc_norm)
from minigrad.layers.normalization.weight_scaling import (  # noqa: F401
    L1Norm, L1NormM, L1NormW, L1NormWM, L2Norm, L2NormM, L2NormW, L2NormWM, GradNormLoRPLinear,
    LPNorm, analog_lp_norm, apply_statsq_weight_scale, gradnormlorp_weight, statsq_weight_scale)
from minigrad.layers.normalization.weight_space import (  # noqa: F401
    NF_GAMMA, NFResidual, ScaledStdConv2d, StdConv2d, apply_scaled_weight_standardization,
    apply_unit_norm_weight, apply_weight_standardization, nf_expected_stds, nf_residual,
    scaled_weight_standardization, unit_norm_weight, weight_standardization)
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
    "evonorm_b0", "evonorm_s0", "EvoNorm2dB0", "EvoNorm2dS0",
    "power_norm", "unified_norm", "online_norm", "PowerNorm", "UnifiedNorm", "OnlineNorm1d",
    "OnlineNorm2d",
    "ms_norm", "MSLayerNorm", "MSRMSNorm",
    "gbw_batch_norm", "lie_batch_norm", "GBWBatchNorm", "LieBatchNorm",
    "poincare_batch_norm", "PoincareBatchNorm",
    "ghost_batch_norm", "alpha_batch_norm", "batch_channel_norm", "ibn", "GhostBatchNorm1d",
    "GhostBatchNorm2d", "AlphaBatchNorm2d", "BatchChannelNorm2d", "IBN",
    "l1_deviation_norm", "L1BatchNorm1d", "L1BatchNorm2d", "L1LayerNorm",
    "adab2n", "AdaB2N2d",
    "region_norm_b", "region_norm_l", "RegionNormB2d", "RegionNormL2d",
    "mp_batch_norm", "MPBNLIF2d", "LIF",
    "scale_norm", "rescale_norm", "dyt", "elementwise_layer_norm", "ScaleNorm", "RescaleNorm",
    "DyT", "ElementwiseLayerNorm",
    "qk_norm", "deep_norm", "normformer_block", "peri_ln_residual", "ngpt_normalize",
    "QKNormAttention", "DeepNorm", "NormFormerLayer", "PeriLNResidual", "NGPTResidual",
    "feature_norm", "logit_clip", "z_normalize", "adaface_norm_stat", "msg_norm", "phi_s",
    "FeatureNorm", "LogitClip", "ZNormalize", "AdaFaceNormStat", "MessageNorm", "PHIS",
    "gdn", "act_norm", "GDN", "IGDN", "ActNorm",
    "adain", "functional_instance_norm", "pc_norm", "AdaIN", "FunctionalInstanceNorm2d",
    "PCNorm2d", "CCNorm2d", "SCNorm2d",
    "weight_standardization", "scaled_weight_standardization", "unit_norm_weight",
    "nf_residual", "StdConv2d", "ScaledStdConv2d", "NFResidual",
    "statsq_weight_scale", "analog_lp_norm", "gradnormlorp_weight", "LPNorm", "L1Norm",
    "L2Norm", "L1NormW", "L2NormW", "L1NormM", "L2NormM", "L1NormWM", "L2NormWM",
    "GradNormLoRPLinear",
]
