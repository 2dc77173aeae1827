"""Activations (see ``../shared/catalog/activations.md``): one file per family. Lowercase names in
``__all__`` are re-exported by ``minigrad.functional``, capitalised ones (Modules) by
``minigrad.layers``.

    rectifiers.py   relu, leaky_relu, prelu, elu, selu, celu                   (A001–A006)
    smooth.py       sigmoid, log_sigmoid, tanh, softplus, silu/swish, gelu, gelu_tanh,
                    mish, glu, softsign, tanhshrink                             (A007–A016, A021)
    hard.py         hardtanh, relu6, hardsigmoid, hardswish, softshrink, hardshrink
                                                                                (A017–A020, A022–A023)
    softmax.py      softmax, log_softmax, logsumexp (with temperature)          (A024–A026)
    sparse_softmax.py  entmax (sparsemax, entmax15, entmax_bisect, learnable α) (A050)
    softmax_variants.py  sa_softmax (Self-Adjust Softmax)                      (A052)
    attention_normalizers.py  relu_attention, rela_attention (softmax replacements for
                    attention; the ``normalizer=`` of scaled_dot_product_attention)  (A053–A054)
    structured.py   maxout, group_sort, squash, sine (+ SineLayer, maxout_init_,
                    siren_init_)                                     (A045–A047, A049)
    low_memory.py   regelu2, resilu2 (2-bit approximate backward)              (A040–A041)
    paper_elementwise.py  abs_activation, gumbel_activation, smelu (+ generalized),
                    crrelu, helu (hysteresis backward)          (A028, A029, A031, A039, A042)
    adaptive.py     apa, aglu (learnable λ, κ)                                 (A043–A044)
    monotone.py     monotone_activation, monotone_kernel (+ MonoDense layer)   (A035)
    relu_replacement.py  dapa_poly_relu, dapa_coefficients (+ DapaPolyReLU: learnable
                    hysteresis ReLU mask, ReLU-count penalty)                  (A036)
    paper_units.py  relu_classifier, sau, matrix_activation, partial_linear_unit
                                                              (A027, A030, A033, A034)
    householder.py  householder_activation (learnable pair reflections)       (A048)

Each op is a ``Function`` named ``<Op>Fn`` (``GeluFn``), its functional form (``gelu``) and,
where a layer makes sense, a Module with PyTorch's name (``GELU``). (The function
``softmax`` shadows the submodule of that name as an attribute of this package; import
from ``minigrad.layers.activations.softmax`` to reach ``SoftmaxFn``.)
"""
from minigrad.layers.activations.hard import (Hardshrink, Hardsigmoid, Hardswish, Hardtanh,  # noqa: F401
                                              ReLU6, Softshrink, hardshrink, hardsigmoid,
                                              hardswish, hardtanh, relu6, softshrink)
from minigrad.layers.activations.rectifiers import (CELU, ELU, PReLU, ReLU, SELU, LeakyReLU,  # noqa: F401
                                                    celu, elu, leaky_relu, prelu, relu, selu)
from minigrad.layers.activations.smooth import (GELU, GLU, LogSigmoid, Mish, Sigmoid, SiLU,  # noqa: F401
                                                Softplus, Softsign, Swish, Tanh, Tanhshrink,
                                                gelu, gelu_tanh, glu, log_sigmoid, logsigmoid,
                                                mish, silu, softplus, softsign, swish,
                                                tanhshrink)
from minigrad.layers.activations.softmax import (LogSoftmax, Softmax, log_softmax,  # noqa: F401
                                                 logsumexp, softmax)
from minigrad.layers.activations.structured import (GroupSort, Maxout, Sine, SineLayer,  # noqa: F401
                                                    Squash, group_sort, maxout, maxout_init_,
                                                    maxout_init_gain, sine, siren_init_, squash)
from minigrad.layers.activations.low_memory import (ReGELU2, ReSiLU2, regelu2,  # noqa: F401
                                                    resilu2)
from minigrad.layers.activations.paper_elementwise import (CRReLU, Abs, GumbelActivation,  # noqa: F401
                                                           HeLU, SmeLU, abs_activation, crrelu,
                                                           gumbel_activation, helu, smelu)
from minigrad.layers.activations.adaptive import AGLU, APA, aglu, apa  # noqa: F401
from minigrad.layers.activations.paper_units import (SAU, MatrixActivation,  # noqa: F401
                                                     PartialLinearUnit, ReLUClassifier,
                                                     matrix_activation, partial_linear_unit,
                                                     relu_classifier, sau)
from minigrad.layers.activations.householder import (HouseholderActivation,  # noqa: F401
                                                     householder_activation)
from minigrad.layers.activations.sparse_softmax import (Entmax, Entmax15, EntmaxAlpha,  # noqa: F401
                                                        EntmaxBisect, Sparsemax, entmax,
                                                        entmax15, entmax_bisect, sparsemax)
from minigrad.layers.activations.softmax_variants import SASoftmax, sa_softmax  # noqa: F401
from minigrad.layers.activations.attention_normalizers import (  # noqa: F401
    ReLA, ReLUAttention, rela_attention, relu_attention)
from minigrad.layers.activations.monotone import (MonoDense, MonotoneActivation,  # noqa: F401
                                                  monotone_activation, monotone_kernel)
from minigrad.layers.activations.relu_replacement import (DapaPolyReLU,  # noqa: F401
                                                          dapa_coefficients, dapa_poly_relu)

__all__ = [
    # rectifiers
    "relu", "leaky_relu", "prelu", "elu", "selu", "celu",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "CELU",
    # smooth (sigmoid and tanh are the primitives, already in minigrad.functional)
    "log_sigmoid", "logsigmoid", "softplus", "silu", "swish", "gelu", "gelu_tanh", "mish",
    "glu", "softsign", "tanhshrink",
    "Sigmoid", "LogSigmoid", "Tanh", "Softplus", "SiLU", "Swish", "GELU", "Mish", "GLU",
    "Softsign", "Tanhshrink",
    # hard
    "hardtanh", "relu6", "hardsigmoid", "hardswish", "softshrink", "hardshrink",
    "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Softshrink", "Hardshrink",
    # softmax
    "softmax", "log_softmax", "logsumexp", "Softmax", "LogSoftmax",
    # structured (A045–A047, A049)
    "maxout", "group_sort", "squash", "sine", "maxout_init_", "maxout_init_gain", "siren_init_",
    "Maxout", "GroupSort", "Squash", "Sine", "SineLayer",
    # low_memory (A040–A041)
    "regelu2", "resilu2", "ReGELU2", "ReSiLU2",
    # paper_elementwise (A028, A029, A031, A039, A042)
    "abs_activation", "gumbel_activation", "smelu", "crrelu", "helu",
    "Abs", "GumbelActivation", "SmeLU", "CRReLU", "HeLU",
    # adaptive (A043–A044)
    "apa", "aglu", "APA", "AGLU",
    # paper_units (A027, A030, A033, A034)
    "relu_classifier", "sau", "matrix_activation", "partial_linear_unit",
    "ReLUClassifier", "SAU", "MatrixActivation", "PartialLinearUnit",
    # householder (A048)
    "householder_activation", "HouseholderActivation",
    # sparse_softmax (A050)
    "entmax", "sparsemax", "entmax15", "entmax_bisect",
    "Entmax", "Sparsemax", "Entmax15", "EntmaxBisect", "EntmaxAlpha",
    # softmax_variants (A052)
    "sa_softmax", "SASoftmax",
    # attention_normalizers (A053–A054)
    "relu_attention", "rela_attention", "ReLUAttention", "ReLA",
    # monotone (A035)
    "monotone_activation", "monotone_kernel", "MonotoneActivation", "MonoDense",
    # relu_replacement (A036)
    "dapa_poly_relu", "dapa_coefficients", "DapaPolyReLU",
]
