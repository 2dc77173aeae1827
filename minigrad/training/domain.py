"""Domain generalization by gradient matching: Fish's Reptile-style meta step over the
training domains."""
from minigrad.autograd import no_grad
from minigrad.layers.module import Module
from minigrad.registry import register
from minigrad.tensor import Tensor
from minigrad.training.merging import _arrays, _check_same, _floating


class Fish:
    """Fish: one inner SGD-type step per training domain on a clone of the network, then a
    meta step of the network toward the clone.

        θ̃ ← θ                                      (clone: load θ into ``inner_model``)
        for each domain mini-batch (x_d, y_d), in the order given:
            θ̃ ← inner_optimizer step on ∇_θ̃ loss_fn(f_θ̃(x_d), y_d)
        θ ← θ + ε·(θ̃ − θ)                          (meta step, ε = ``meta_lr``)

    To first order this maximizes the inner product of the domains' gradients (the Fish
    paper's GIP objective), which is why the Hessian-alignment paper analyses it beside its
    penalties. Where it came from: facebookresearch/DomainBed domainbed/algorithms.py
    (``Fish``): the inner optimizer is ``Adam(lr, weight_decay)`` on the clone and its state
    is carried from one update to the next (DomainBed saves and reloads it into each new
    clone; here the same ``inner_optimizer`` object stays bound to ``inner_model``); the
    domains are visited in the order of ``minibatches`` (DomainBed does not shuffle them; the
    Fish paper's Algorithm 1 permutes them: shuffle the list yourself for that); the meta
    step is applied to every floating state-dict entry (parameters and floating buffers, as
    DomainBed's ``ParamDict`` on ``state_dict()``); non-floating buffers (BatchNorm's
    ``num_batches_tracked``) are taken from the clone (DomainBed adds ε·(difference) and
    truncates). ``meta_lr`` ε = 0.5 (DomainBed's default; its sweep {0.05, 0.1, 0.5}).

    ``Fish(model, inner_model, inner_optimizer, meta_lr=0.5)``: ``inner_model`` is a second
    instance of the same architecture, ``inner_optimizer`` an optimizer of its parameters
    (DomainBed: ``minigrad.optim.Adam(inner_model.parameters(), lr=1e-3)``).
    ``fish.update(minibatches, loss_fn)`` returns the last domain's loss (a float). The
    procedure's state is the inner optimizer's (``state_dict()`` returns it).

    Paper: Shi, Seely, Torr, Siddharth, Hannun, Usunier & Synnaeve 2022, "Gradient Matching
    for Domain Generalization" (Fish); analysed in Hemati, Zhang, Estiri & Chen
    2023, "Understanding Hessian Alignment for Domain Generalization".
    """

    def __init__(self, model, inner_model, inner_optimizer, meta_lr=0.5):
        if not isinstance(model, Module) or not isinstance(inner_model, Module):
            raise TypeError("Fish: model and inner_model must be Modules")
        if model is inner_model:
            raise ValueError("Fish: inner_model must be a separate instance (the clone)")
        if not 0.0 < meta_lr <= 1.0:
            raise ValueError(f"Fish: meta_lr must be in (0, 1], got {meta_lr}")
        _check_same(_arrays(model, "Fish", "model"), _arrays(inner_model, "Fish", "inner_model"),
                    "Fish", "inner_model", "model")
        owned = {id(p) for p in inner_model.parameters()}
        if any(id(p) not in owned for g in inner_optimizer.param_groups for p in g["params"]):
            raise ValueError("Fish: inner_optimizer must optimize inner_model's parameters")
        self.model, self.inner_model = model, inner_model
        self.inner_optimizer, self.meta_lr = inner_optimizer, float(meta_lr)

    def update(self, minibatches, loss_fn):
        """One Fish update over the domains' mini-batches ``[(x_d, y_d), ...]``."""
        minibatches = list(minibatches)
        if not minibatches:
            raise ValueError("Fish.update: needs at least one domain mini-batch")
        self.inner_model.load_state_dict(self.model.state_dict())
        for x, y in minibatches:
            loss = loss_fn(self.inner_model(x), y)
            self.inner_optimizer.zero_grad()
            loss.backward()
            self.inner_optimizer.step()
        meta = self.model.state_dict()
        inner = _arrays(self.inner_model, "Fish", "inner_model")
        new = {}
        with no_grad():
            for k, v in meta.items():
                a = v.data if isinstance(v, Tensor) else v
                b = inner[k]
                if _floating(a):
                    new[k] = Tensor._wrap(a + a.dtype.type(self.meta_lr) * (b - a))
                else:
                    new[k] = Tensor._wrap(b.copy())
        self.model.load_state_dict(new)
        return float(loss.item())

    def state_dict(self):
        return {"inner_optimizer": self.inner_optimizer.state_dict()}

    def load_state_dict(self, state):
        self.inner_optimizer.load_state_dict(state["inner_optimizer"])


register(Fish, name="fish", kind="optimizer", check="state", catalog_id="O082",
         papers=["Understanding Hessian Alignment for Domain Generalization"])
