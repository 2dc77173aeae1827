"""``minigrad.optim``: optimizers (``Optimizer`` base with parameter groups, per-parameter state,
``step(closure)``, post-step hooks and state dicts), gradient clipping, weight averaging and
learning-rate schedules (``minigrad.optim.lr_scheduler``, paper_schedules.py), with PyTorch's
names. One file per family: the classic rules (sgd, adam, adaptive), the paper rules
(paper_adaptive, scale_invariant, bounded, spike_aware, momo, muon, ranger21, low_rank, agvm,
normalized_gd, online, riemannian, second_order, bilevel, prospect, surrogate, distillation),
samplers (langevin, hmc), constraints and projections (constrained, projections), and
parametrization helpers (parametrization: µP, depth-µP; tempbalance; tract)."""
from minigrad.optim.optimizer import Optimizer  # noqa: F401
from minigrad.optim.sgd import LARS, SGD, SGDNesterov  # noqa: F401
from minigrad.optim.adam import LAMB, AMSGrad, Adam, AdamW, normalized_weight_decay  # noqa: F401
from minigrad.optim.adaptive import Adadelta, Adagrad, RMSprop  # noqa: F401
from minigrad.optim.sam import SAM  # noqa: F401
from minigrad.optim.ema import EMA, byol_decay  # noqa: F401
from minigrad.optim.center import CenterUpdate  # noqa: F401
from minigrad.optim.clip import adaptive_grad_clip_, clip_grad_norm_, clip_grad_value_  # noqa: F401
from minigrad.optim.muon import Muon, zeropower_via_newtonschulz  # noqa: F401
from minigrad.optim.spike_aware import SPAM, StableSPAM  # noqa: F401
from minigrad.optim.momo import Momo, MomoAdam  # noqa: F401
from minigrad.optim.ranger21 import Ranger21  # noqa: F401
from minigrad.optim.low_rank import GaLoreAdamW  # noqa: F401
from minigrad.optim.agvm import AGVM  # noqa: F401
from minigrad.optim.langevin import SGHMC, SGLD  # noqa: F401
from minigrad.optim.hmc import HMC, leapfrog  # noqa: F401
from minigrad.optim.riemannian import GrassmannRSGD  # noqa: F401
from minigrad.optim.normalized_gd import NPGIGT, BetaNormalizedGD, NormalizedLRGD  # noqa: F401
from minigrad.optim.online import GreedyBCD, OptimisticOMD  # noqa: F401
from minigrad.optim.paper_adaptive import SGDW, SWATS, AdaGradNorm, DiffGrad  # noqa: F401
from minigrad.optim.scale_invariant import SGDP, AdamP  # noqa: F401
from minigrad.optim.bounded import AdaBound, AMSBound  # noqa: F401
from minigrad.optim.paper_schedules import (CosinePowerAnnealingLR, RefinedLR,  # noqa: F401
                                            refine_schedule, subgradient_geometric_decay)
from minigrad.optim.projections import HypersphereRenorm, NonNegativeClip  # noqa: F401
from minigrad.optim.parametrization import (DepthMuP, MuP, MuReadout,  # noqa: F401
                                            top_singular_value, width_robust_adamw)
from minigrad.optim.tract import (TrAct, TrActConv2d, TrActLinear, tract_conv2d,  # noqa: F401
                                  tract_linear)
from minigrad.optim.constrained import AugmentedLagrangian, FeasibleLearning  # noqa: F401
from minigrad.optim.prospect import Prospect, spectral_smooth_weights  # noqa: F401
from minigrad.optim.second_order import NHARPG, RegularizedNewton  # noqa: F401
from minigrad.optim.tempbalance import TempBalance, hill_alpha  # noqa: F401
from minigrad.optim.surrogate import SSO  # noqa: F401
from minigrad.optim.distillation import DistillationOrientedTrainer  # noqa: F401
from minigrad.optim.bilevel import BSVRB  # noqa: F401
from minigrad.optim import lr_scheduler  # noqa: F401
