"""Activations (see ``../shared/catalog/activations.md``): one file per family. Lowercase names in
``__all__`` are re-exported by ``minigrad.functional``, capitalised ones (Modules) by
``minigrad.layers``.

    rectifiers.py   relu, leaky_relu, prelu, elu, selu, celu                   (A001–A006)
    smooth.py       sigmoid, log_sigmoid, tanh, softplus, silu/swish, gelu, gelu_tanh,
                    mish, glu, softsign, tanhshrink                             (A007–A016, A021)
    hard.py         hardtanh, relu6, hardsigmoid, hardswish, softshrink, hardshrink
                                                                                (A017–A020, A022–A023)
    softmax.py      softmax, log_softmax, logsumexp (with temperature)          (A024–A026)

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
]
