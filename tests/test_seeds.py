"""``minigrad.manual_seed(s)`` makes every random choice reproducible without extra arguments:
DataLoader shuffling, dropout masks, initial weights, mixup/CutMix choices, random-start
attacks. Two runs after the same seed agree exactly; another seed gives other draws."""
import numpy as np
import pytest

import minigrad
from minigrad import F, nn
from minigrad.data import DataLoader, TensorDataset
from minigrad.training import attacks, mixing


def _batches():
    data = TensorDataset(np.arange(40.0).reshape(20, 2), np.arange(20))
    loader = DataLoader(data, batch_size=6, shuffle=True)
    return [b[1].numpy() for _ in range(2) for b in loader]       # two epochs


def _dropout_mask():
    return (F.dropout(minigrad.ones((4, 50)), p=0.5, training=True).numpy() != 0)


def _init_weights():
    return np.concatenate([nn.Linear(5, 3).weight.numpy().ravel(),
                           nn.Conv2d(2, 3, 3).weight.numpy().ravel()])


def _mixup():
    x = minigrad.tensor(np.arange(12.0).reshape(4, 3))
    mixed, _, y_b, lam = mixing.mixup(x, minigrad.tensor(np.arange(4)), alpha=1.0)
    return np.concatenate([mixed.numpy().ravel(), y_b.numpy().ravel(), [lam]])


def _cutmix():
    x = minigrad.tensor(np.arange(2 * 1 * 6 * 6, dtype=np.float64).reshape(2, 1, 6, 6))
    mixed = mixing.cutmix(x, alpha=1.0)[0]
    return mixed.numpy().ravel()


def _attack():
    model = nn.Linear(3, 2)
    x = minigrad.tensor(np.full((4, 3), 0.5, dtype=np.float32))
    y = minigrad.tensor(np.array([0, 1, 0, 1]))
    return attacks.pgd_linf(model, F.cross_entropy, x, y, eps=0.1, alpha=0.0, steps=1,
                            random_start=True).numpy()


DRAWS = {"dataloader": _batches, "dropout": _dropout_mask, "init": _init_weights,
         "mixup": _mixup, "cutmix": _cutmix, "attack_random_start": _attack}


def _run(draw, seed):
    minigrad.manual_seed(seed)
    out = draw()
    return [np.asarray(a) for a in out] if isinstance(out, list) else [np.asarray(out)]


@pytest.mark.parametrize("name", DRAWS)
def test_manual_seed_reproduces_and_another_seed_differs(name, backend):
    draw = DRAWS[name]
    first, again, other = _run(draw, 3), _run(draw, 3), _run(draw, 4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other)), name


def test_dataloader_batches_cover_the_dataset_in_a_new_order_each_epoch(backend):
    minigrad.manual_seed(0)
    epochs = _batches()
    first, second = np.concatenate(epochs[:4]), np.concatenate(epochs[4:])
    assert sorted(first) == list(range(20)) and sorted(second) == list(range(20))
    assert not np.array_equal(first, second)


def test_a_loader_seed_still_fixes_its_own_order(backend):
    data = TensorDataset(np.arange(10))
    orders = []
    for global_seed in (0, 1):
        minigrad.manual_seed(global_seed)
        loader = DataLoader(data, batch_size=10, shuffle=True, seed=7)
        orders.append(next(iter(loader))[0].numpy())
    np.testing.assert_array_equal(*orders)
