"""RiFT's module robust criticality (MRC): how much the adversarial loss can rise when one
module's weight alone is perturbed within a relative ε-ball (O059)."""
from minigrad import functional as F
from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.layers.conv import Conv1d, Conv2d
from minigrad.layers.linear import Linear
from minigrad.optim.optimizer import tensor_norm
from minigrad.registry import register
from minigrad.training.attacks import pgd_linf


def _mean_loss(model, batches, loss_fn):
    """The sample-weighted mean of loss_fn over the batches (model in eval mode, no tape)."""
    total, count = 0.0, 0
    with no_grad():
        for x, y in batches:
            n = int(y.shape[0])
            total += float(loss_fn(model(x), y).item()) * n
            count += n
    if count == 0:
        raise ValueError("rift_module_criticality: the adversarial data is empty")
    return total / count


def rift_adversarial_data(model, batches, eps=8 / 255, alpha=2 / 225, steps=10,
                          loss_fn=F.cross_entropy, generator=None):
    """The fixed adversarial set MRC is measured on: PGD-ℓ∞ examples of every batch against
    ``model`` in eval mode (RiFT/main.py ``generate_adv_dataset``: torchattacks PGD with
    ε = 8/255, α = 2/225 — as written in the code, not 2/255 — 10 steps, random start).
    Returns a list of ``(x_adv, y)`` batches (the model's train/eval mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        return [(pgd_linf(model, loss_fn, x, y, eps, alpha, steps, random_start=True,
                          generator=generator), y) for x, y in batches]
    finally:
        model.train(was_training)


def rift_module_criticality(model, batches, epsilon=0.1, epochs=10, lr=1.0,
                            loss_fn=F.cross_entropy, modules=None):
    """Module robust criticality of every Linear / Conv module of ``model`` (RiFT step 1).

    Paper: Zhu, Hu, Wang, Xie & Yang 2023, "Improving Generalization of Adversarial Training
    via Robust Critical Fine-Tuning" (the module robust criticality and the RiFT procedure).
    Transcribed from microsoft/robustlearn RiFT/main.py ``layer_sharpness``::

        L₀ = mean loss of the model on the adversarial data D (eval mode)
        for each module m with weight W (its bias is not perturbed):
            W₀ = W;  only W is trainable
            repeat ``epochs`` (10) times:
                for each batch of D:  W ← W + lr·∇_W L(W)          (SGD, lr 1, on −L)
                r = ‖W − W₀‖_F / ‖W₀‖_F
                if r > ε:  W ← W₀ + (W − W₀)·ε / r                  (back onto the ε-ball)
                L_e = mean loss over D;  L_max = max(L_max, L_e)     (L_max starts at 0)
            MRC(m) = L_max − L₀;  W ← W₀

    so MRC(m) ≈ max_{‖ΔW‖ ≤ ε‖W‖} L(W + ΔW) − L(W). ``batches`` is the adversarial data:
    an iterable of ``(x, y)`` re-iterated every epoch (a shuffling DataLoader reshuffles like
    the reference's ``shuffle=True`` loader), usually made by ``rift_adversarial_data``.
    ``modules``: names to measure (default: every Linear/Conv1d/Conv2d with a weight; the
    reference also skips WideResNet's ``sub`` blocks, a model-specific filter left to this
    argument).
    The model is left exactly as it was (weights, requires_grad flags, train/eval mode).

    Returns ``[(module_name, mrc), ...]`` sorted by MRC, lowest first: RiFT fine-tunes the
    first (the non-robust-critical module) with SGD-momentum 0.9, weight decay 5e-4 and a
    step schedule (γ = 0.1 at half the epochs), everything else frozen, then interpolates
    the fine-tuned and the adversarially trained weights (``weight_interpolation``).
    """
    if not epsilon > 0:
        raise ValueError(f"rift_module_criticality: epsilon must be > 0, got {epsilon}")
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"rift_module_criticality: epochs must be a positive integer, got "
                         f"{epochs}")
    if not lr > 0:
        raise ValueError(f"rift_module_criticality: lr must be > 0, got {lr}")
    candidates = {name: m for name, m in model.named_modules()
                  if isinstance(m, (Linear, Conv1d, Conv2d)) and getattr(m, "weight", None)
                  is not None}
    if modules is None:
        modules = list(candidates)
    unknown = [n for n in modules if n not in candidates]
    if unknown:
        raise KeyError(f"rift_module_criticality: no Linear/Conv module named {unknown}; "
                       f"the model has {list(candidates)}")

    was_training = model.training
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    model.eval()
    try:
        origin = _mean_loss(model, batches, loss_fn)
        result = []
        for name in modules:
            w = candidates[name].weight
            w0 = w.data.copy()
            xp = backend_of_array(w0).xp
            norm0 = tensor_norm(xp, w0)
            for p in params:
                p.requires_grad_(p is w)
            max_loss = 0.0
            try:
                for _ in range(int(epochs)):
                    for x, y in batches:
                        w.grad = None
                        loss_fn(model(x), y).backward()
                        with no_grad():
                            w.data += lr * w.grad.data
                            w._version += 1
                    with no_grad():
                        diff = w.data - w0
                        if float(norm0) == 0:      # a zero weight: the ball is {W₀}
                            w.data[...] = w0
                        else:
                            ratio = tensor_norm(xp, diff) / norm0
                            if float(ratio) > epsilon:
                                w.data[...] = w0 + diff * (epsilon / ratio)
                        w._version += 1
                    max_loss = max(max_loss, _mean_loss(model, batches, loss_fn))
            finally:
                w.data[...] = w0
                w._version += 1
                w.grad = None
            result.append((name, max_loss - origin))
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)
        model.train(was_training)
    return sorted(result, key=lambda item: item[1])


register(rift_module_criticality, name="rift_module_criticality", kind="optimizer",
         check="state", catalog_id="O059",
         papers=["Improving Generalization of Adversarial Training via Robust Critical "
                 "Fine-Tuning"])
