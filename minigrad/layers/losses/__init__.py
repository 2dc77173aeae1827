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
from minigrad.layers.losses import noisy_labels  # noqa: E402  (GCE, NCE, NFL, NGCE, RCE, MAE, APL)
from minigrad.layers.losses.noisy_labels import *  # noqa: F401,F403
from minigrad.layers.losses import classification_variants  # noqa: E402  (Poly, squentropy, Z, comp-sum, perceptron)
from minigrad.layers.losses.classification_variants import *  # noqa: F401,F403
from minigrad.layers.losses import long_tail  # noqa: E402  (LDAM, VS, DRW, DB, GOL)
from minigrad.layers.losses.long_tail import *  # noqa: F401,F403
from minigrad.layers.losses import calibration  # noqa: E402  (MbLS, ACLS, MaxSup)
from minigrad.layers.losses.calibration import *  # noqa: F401,F403
from minigrad.layers.losses import distributional  # noqa: E402  (HL-Gauss, spectral risk, EBV)
from minigrad.layers.losses.distributional import *  # noqa: F401,F403
from minigrad.layers.losses import robust_dro  # noqa: E402  (LDR-KL, ALDR-KL, EnsLoss)
from minigrad.layers.losses.robust_dro import *  # noqa: F401,F403
from minigrad.layers.losses import margin_variants  # noqa: E402  (LMPT CSE)
from minigrad.layers.losses.margin_variants import *  # noqa: F401,F403
from minigrad.layers.losses import ood  # noqa: E402  (Outlier Exposure, energy margin, SCONE/WOODS)
from minigrad.layers.losses.ood import *  # noqa: F401,F403
from minigrad.layers.losses import test_time  # noqa: E402  (CoTTA consistency)
from minigrad.layers.losses.test_time import *  # noqa: F401,F403
from minigrad.layers.losses import multilabel_weak  # noqa: E402  (EM + APL, ReLabel LabelPooling CE)
from minigrad.layers.losses.multilabel_weak import *  # noqa: F401,F403
from minigrad.layers.losses import multilabel, ranking, recommendation, retrieval  # noqa: E402  (Macro-AUC, capsule; NeuralNDCG; BPR, CCL, CM³; DEXML, MRL)
from minigrad.layers.losses.multilabel import *  # noqa: F401,F403
from minigrad.layers.losses.ranking import *  # noqa: F401,F403
from minigrad.layers.losses.recommendation import *  # noqa: F401,F403
from minigrad.layers.losses.retrieval import *  # noqa: F401,F403

__all__ = []
for _family in (classification, focal, hinge, margin, metric, contrastive, distillation, adversarial,
                regression, boxes, segmentation, generative, penalties):
    __all__ += _family.__all__
__all__ += noisy_labels.__all__
__all__ += classification_variants.__all__
__all__ += long_tail.__all__ + calibration.__all__ + distributional.__all__
__all__ += robust_dro.__all__
__all__ += margin_variants.__all__
__all__ += ood.__all__ + test_time.__all__ + multilabel_weak.__all__
__all__ += multilabel.__all__ + ranking.__all__ + recommendation.__all__ + retrieval.__all__
