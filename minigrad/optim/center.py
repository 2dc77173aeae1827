"""The centre update of the centre loss: class centres move towards their features by their
own rule, not by the optimizer's gradient step."""
from minigrad.autograd import no_grad
from minigrad.backends import backend_of_array
from minigrad.optim.optimizer import Optimizer
from minigrad.registry import register
from minigrad.tensor import Tensor


class CenterUpdate(Optimizer):
    """Centre update of the centre loss (Wen et al. 2016, "A Discriminative Feature Learning
    Approach for Deep Face Recognition", Algorithm 1; surveyed in "Loss Functions and Metrics in
    Deep Learning").

    The centre loss L_C = ½Σ_i ‖x_i − c_{y_i}‖² trains the features x (its gradient with
    respect to x_i is x_i − c_{y_i}, the centres held constant); the centres c (a ``(C, D)``
    Parameter) follow, once per mini-batch, ::

        Δc_j = Σ_i 1[y_i = j]·(c_j − x_i) / (1 + Σ_i 1[y_i = j])
        c_j ← c_j − α·Δc_j                    (α = 0.5)

    so only the classes present in the batch move. ``step(features, labels)`` applies it
    (features are read as constants); call it after the network's optimizer step.
    pytorch-center-loss realizes the same rule as SGD with lr α on a rescaled gradient.
    """

    def __init__(self, centers, alpha=0.5):
        if not 0 <= alpha <= 1:
            raise ValueError(f"CenterUpdate: alpha must be in [0, 1], got {alpha}")
        super().__init__([centers], dict(alpha=alpha))

    def step(self, features, labels):
        """Move the centres of the classes in ``labels`` towards their ``features`` (N, D)."""
        return self._run_with_hooks(self._move_centers, features, labels)

    def _move_centers(self, features, labels):
        group = self.param_groups[0]
        c = group["params"][0]
        x = features.data if isinstance(features, Tensor) else features
        y = labels.data if isinstance(labels, Tensor) else labels
        if x.ndim != 2 or x.shape[1] != c.shape[1] or y.shape != (x.shape[0],):
            raise ValueError(f"CenterUpdate: features must be (N, {c.shape[1]}) with labels (N,), "
                             f"got features {tuple(x.shape)} and labels {tuple(y.shape)}")
        backend = backend_of_array(c.data)
        xp = backend.xp
        scatter = backend.kernels("indexing").scatter_add
        diff = scatter(c.shape, c.dtype, y, c.data[y] - x.astype(c.dtype, copy=False))
        counts = xp.bincount(y, minlength=c.shape[0]).astype(c.dtype)
        with no_grad():
            c.data -= group["alpha"] * diff / (1 + counts)[:, None]
            c._version += 1


register(CenterUpdate, name="center_update", kind="optimizer", check="state", catalog_id="O024",
         papers=["Loss Functions and Metrics in Deep Learning"])
