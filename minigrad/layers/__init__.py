"""Everything a network is made of: Module/Parameter and the layers (``minigrad.layers``,
also available as ``minigrad.nn``). Each family package lists its Modules in ``__all__``
(capitalised names) and they are re-exported here."""
from minigrad.layers.module import (Flatten, Identity, Module, ModuleDict, ModuleList,  # noqa: F401
                                    Parameter, ParameterDict, ParameterList, Sequential)


def _export_modules():
    from minigrad.layers import activations, losses, normalization
    for family in (activations, normalization, losses):
        for name in family.__all__:
            if name[:1].isupper():
                globals()[name] = getattr(family, name)


_export_modules()
from minigrad.layers.linear import *  # noqa: F401,F403,E402
from minigrad.layers.dropout import *  # noqa: F401,F403,E402
from minigrad.layers.embedding import *  # noqa: F401,F403,E402
from minigrad.layers.pixel_shuffle import *  # noqa: F401,F403,E402
from minigrad.layers.attention import *  # noqa: F401,F403,E402
from minigrad.layers.stochastic import *  # noqa: F401,F403,E402
from minigrad.layers.quantization import *  # noqa: F401,F403,E402
from minigrad.layers.lora import *  # noqa: F401,F403,E402
from minigrad.layers.pruning import *  # noqa: F401,F403,E402
from minigrad.layers.init_schemes import *  # noqa: F401,F403,E402
from minigrad.layers.residual import *  # noqa: F401,F403,E402
from minigrad.layers.squeeze_excite import *  # noqa: F401,F403,E402
from minigrad.layers.conv import *  # noqa: F401,F403,E402
from minigrad.layers.pooling import *  # noqa: F401,F403,E402
from minigrad.layers.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401,E402
from minigrad.layers.recurrent import *  # noqa: F401,F403,E402
from minigrad.layers.transformer import *  # noqa: F401,F403,E402
from minigrad.layers import init, utils  # noqa: F401,E402  (nn.init, nn.utils)
