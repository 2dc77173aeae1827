"""``minigrad.training``: training procedures built on the engine, one file per family:
adversarial examples (attacks.py), input mixing (mixing.py), the ``MemoryBank`` of past
embeddings, weight-space merging (merging.py: soups, interpolation, task arithmetic, Fisher
merging, sparse soups; merging_pareto.py: MAP; layer_averaging.py), loss of plasticity
(plasticity.py: shrink and perturb, continual backprop, CoTTA restoration), multi-task and
domain trainers (multitask.py, domain.py, federated.py, sandwich.py, layer_sampling.py),
robust-criticality (criticality.py), and tools: the LR range test (lr_finder.py) and the
adaptive batch-size test (adaptive_batch.py)."""
from minigrad.training.attacks import fgsm, pgd_l2, pgd_linf, trades_kl  # noqa: F401
from minigrad.training.memory_bank import MemoryBank  # noqa: F401
from minigrad.training.merging import (apply_masks, diagonal_fisher, fisher_merging,  # noqa: F401
                                       greedy_soup, interpolation_sweep, magnitude_prune_masks,
                                       model_soup, prunable_weights, sparse_model_soup,
                                       sparse_model_soup_phases, task_arithmetic, task_vector,
                                       weight_interpolation)
from minigrad.training.plasticity import (CoTTARestoration, ContinualBackprop,  # noqa: F401
                                          shrink_perturb)
from minigrad.training.mixing import cutmix, mix_criterion, mixup  # noqa: F401
from minigrad.training.lr_finder import LRRangeTestResult, lr_range_test  # noqa: F401
from minigrad.training.adaptive_batch import adadagrad_norm_test  # noqa: F401
from minigrad.training.multitask import GradNorm  # noqa: F401
from minigrad.training.layer_sampling import LISA, PADASampler  # noqa: F401
from minigrad.training.merging_pareto import (fit_quadratic_surrogate, map_merging,  # noqa: F401
                                              pareto_front, quadratic_features)
from minigrad.training.domain import Fish  # noqa: F401
from minigrad.training.federated import FedAU  # noqa: F401
from minigrad.training.sandwich import SandwichRule  # noqa: F401
from minigrad.training.criticality import rift_adversarial_data, rift_module_criticality  # noqa: F401
from minigrad.training.layer_averaging import AdaptiveModelAveraging  # noqa: F401
