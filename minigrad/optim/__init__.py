"""``minigrad.optim``: optimizers (``Optimizer`` base with parameter groups, per-parameter state,
``step(closure)``, post-step hooks and state dicts), gradient clipping, weight averaging and
learning-rate schedules (``minigrad.optim.lr_scheduler``), with PyTorch's names."""
from minigrad.optim.optimizer import Optimizer  # noqa: F401
from minigrad.optim.sgd import LARS, SGD, SGDNesterov  # noqa: F401
from minigrad.optim.adam import LAMB, AMSGrad, Adam, AdamW, normalized_weight_decay  # noqa: F401
from minigrad.optim.adaptive import Adadelta, Adagrad, RMSprop  # noqa: F401
from minigrad.optim.sam import SAM  # noqa: F401
from minigrad.optim.ema import EMA, byol_decay  # noqa: F401
from minigrad.optim.center import CenterUpdate  # noqa: F401
from minigrad.optim.clip import adaptive_grad_clip_, clip_grad_norm_, clip_grad_value_  # noqa: F401
from minigrad.optim import lr_scheduler  # noqa: F401
