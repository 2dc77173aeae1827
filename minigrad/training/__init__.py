"""``minigrad.training``: training procedures built on the engine: adversarial examples
(``fgsm``, ``pgd_linf``, ``pgd_l2``), input mixing (``mixup``, ``cutmix``) and the
``MemoryBank`` of past embeddings."""
from minigrad.training.attacks import fgsm, pgd_l2, pgd_linf, trades_kl  # noqa: F401
from minigrad.training.memory_bank import MemoryBank  # noqa: F401
from minigrad.training.mixing import cutmix, mix_criterion, mixup  # noqa: F401
