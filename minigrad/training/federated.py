"""Federated averaging with unknown client participation statistics: FedAU's aggregation
weights, estimated online from each client's participation intervals."""
from collections import OrderedDict

from minigrad.autograd import no_grad
from minigrad.registry import register
from minigrad.tensor import Tensor
from minigrad.training.merging import _arrays, _check_same, _floating


class FedAU:
    """FedAU: the server step of FedAvg with each participating client's update weighted by
    ω_n, an online estimate of 1/p_n (p_n: the client's unknown participation probability)
    as the mean length of its participation intervals, each interval cut off at K rounds.

    Round t, client n (participating: q_n = 1, in ``updates``):

        if q_n = 1:  ω_n = mean(I_n) if I_n is non-empty, else 1 (the update unweighted)
                     then I_n ← I_n ∪ {c_n + 1},  c_n ← 0
        else:        c_n ← c_n + 1;  if c_n ≥ K:  I_n ← I_n ∪ {c_n},  c_n ← 0
        x ← x + γ·(1/N)·Σ_{n∈S_t} ω_n·Δ_n           (N = all clients, S_t the participants)

    I_n (kept as its sum and count: the same mean) are the completed intervals between
    participations; the interval that ends at a participation is first used in the NEXT
    round the client participates in, so ω_n never depends on the current round's
    participation (the paper's unbiasedness argument). ``cutoff`` K = 100000 (the official
    code's ``-k-adaptive`` default, i.e. no cutoff in practice; the paper's analysis takes
    a finite K to bound the estimate's bias and variance); ``lr_global`` γ = 1.0 (``-lr-global``).

    ``FedAU(num_clients, cutoff=100000, lr_global=1.0)``; ``fedau.step(global_state,
    updates)``: ``global_state`` a Module or state dict (the global model x), ``updates`` a
    dict {client index: Δ_n} of state dicts (the participants' x_n − x after local steps);
    returns the new global state dict (floating entries updated in their dtype; others
    copied from x) and records this round's participation. ``fedau.weights(clients)`` gives
    the ω_n a round would use. ``state_dict()`` keeps (c_n, Σ I_n, |I_n|) for save/resume.

    Where it came from: IBM/fedau main.py (``weighting_method == 'adaptive'``: the
    per-client ``participate_intervals_at_node`` / ``not_participate_count_at_node``
    bookkeeping and the accumulation divided by the number of all clients) and config.py.
    Paper: Wang & Ji 2024, "A Lightweight Method for Tackling Unknown Participation
    Statistics in Federated Averaging" (Algorithm 1-2).
    """

    def __init__(self, num_clients, cutoff=100000, lr_global=1.0):
        if isinstance(num_clients, bool) or not isinstance(num_clients, int) or num_clients < 1:
            raise ValueError(f"FedAU: num_clients must be a positive int, got {num_clients!r}")
        if isinstance(cutoff, bool) or not isinstance(cutoff, int) or cutoff < 1:
            raise ValueError(f"FedAU: cutoff must be a positive int, got {cutoff!r}")
        if not lr_global > 0.0:
            raise ValueError(f"FedAU: lr_global must be > 0, got {lr_global}")
        self.num_clients, self.cutoff, self.lr_global = num_clients, cutoff, float(lr_global)
        self.absent = [0] * num_clients          # c_n: rounds since the last participation
        self.interval_sum = [0] * num_clients    # Σ I_n
        self.interval_count = [0] * num_clients  # |I_n|

    def weights(self, clients):
        """ω_n for each client in ``clients`` with the intervals seen so far."""
        out = []
        for n in clients:
            self._check_client(n)
            k = self.interval_count[n]
            out.append(self.interval_sum[n] / k if k else 1.0)
        return out

    def observe(self, participating):
        """Record one round's participation (a set of client indices) and return the ω_n
        used for those clients this round."""
        participating = set(participating)
        for n in participating:
            self._check_client(n)
        omega = dict(zip(sorted(participating), self.weights(sorted(participating))))
        for n in range(self.num_clients):
            if n in participating:
                self.interval_sum[n] += self.absent[n] + 1
                self.interval_count[n] += 1
                self.absent[n] = 0
            else:
                self.absent[n] += 1
                if self.absent[n] >= self.cutoff:
                    self.interval_sum[n] += self.absent[n]
                    self.interval_count[n] += 1
                    self.absent[n] = 0
        return omega

    def step(self, global_state, updates):
        """x + γ·(1/N)·Σ_n ω_n·Δ_n over the participants in ``updates`` ({client: Δ_n})."""
        base = _arrays(global_state, "FedAU", "global_state")
        deltas = {}
        for n, d in updates.items():
            self._check_client(n)
            arrays = _arrays(d, "FedAU", f"the update of client {n}")
            _check_same(OrderedDict((k, a) for k, a in base.items() if _floating(a)), arrays,
                        "FedAU", f"the update of client {n}", "the global model's floating entries")
            deltas[n] = arrays
        omega = self.observe(deltas)
        out = OrderedDict()
        with no_grad():
            for k, a in base.items():
                if not _floating(a):
                    out[k] = Tensor._wrap(a.copy())
                    continue
                dt = a.dtype.type
                acc = None
                for n in sorted(deltas):
                    term = deltas[n][k] * dt(omega[n])
                    acc = term if acc is None else acc + term
                if acc is None:
                    out[k] = Tensor._wrap(a.copy())
                else:
                    out[k] = Tensor._wrap((a + dt(self.lr_global) * (acc / dt(self.num_clients)))
                                          .astype(a.dtype, copy=False))
        return out

    def _check_client(self, n):
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < self.num_clients:
            raise ValueError(f"FedAU: client index {n!r} is not in [0, {self.num_clients})")

    def state_dict(self):
        return {"absent": list(self.absent), "interval_sum": list(self.interval_sum),
                "interval_count": list(self.interval_count)}

    def load_state_dict(self, state):
        for name in ("absent", "interval_sum", "interval_count"):
            values = [int(v) for v in state[name]]
            if len(values) != self.num_clients:
                raise ValueError(f"FedAU.load_state_dict: {name} has {len(values)} clients, "
                                 f"this FedAU {self.num_clients}")
            setattr(self, name, values)


register(FedAU, name="fedau", kind="optimizer", check="state", catalog_id="O089",
         papers=["A Lightweight Method for Tackling Unknown Participation Statistics in "
                 "Federated Averaging"])
