"""Losses (see ``../shared/catalog/losses.md``): one file per family. Lowercase names in
``__all__`` are re-exported by ``minigrad.functional``, capitalised ones (Modules) by
``minigrad.layers``."""
from minigrad.layers.losses import (adversarial, boxes, classification, contrastive, distillation,
                                    focal, generative, hinge, margin, metric, penalties,
                                    regression, segmentation)
from minigrad.layers.losses.adversarial import *  # noqa: F401,F403
from minigrad.layers.losses.boxes import *  # noqa: F401,F403
from minigrad.layers.losses.classification import *  # noqa: F401,F403
from minigrad.layers.losses.contrastive import *  # noqa: F401,F403
from minigrad.layers.losses.distillation import *  # noqa: F401,F403
from minigrad.layers.losses.focal import *  # noqa: F401,F403
from minigrad.layers.losses.generative import *  # noqa: F401,F403
from minigrad.layers.losses.hinge import *  # noqa: F401,F403
from minigrad.layers.losses.margin import *  # noqa: F401,F403
from minigrad.layers.losses.metric import *  # noqa: F401,F403
from minigrad.layers.losses.penalties import *  # noqa: F401,F403
from minigrad.layers.losses.regression import *  # noqa: F401,F403
from minigrad.layers.losses.segmentation import *  # noqa: F401,F403

__all__ = []
for _family in (classification, focal, hinge, margin, metric, contrastive, distillation, adversarial,
                regression, boxes, segmentation, generative, penalties):
    __all__ += _family.__all__
