"""Optimizer-wide state (step counters, running loss averages) for rules whose reference keeps
it outside the per-parameter state, saved and restored with the state dict."""
from minigrad.optim.optimizer import Optimizer


class GlobalStateOptimizer(Optimizer):
    """An ``Optimizer`` with ``self.global_state``: a dict of Python ints, floats, bools or
    ``None`` shared by all parameters, written into ``state_dict()["global_state"]`` and read
    back by ``load_state_dict`` (floats go through the save file's JSON exactly)."""

    def __init__(self, params, defaults):
        super().__init__(params, defaults)
        self.global_state = self._initial_global_state()

    def _initial_global_state(self):
        return {}

    def state_dict(self):
        state = super().state_dict()
        state["global_state"] = dict(self.global_state)
        return state

    def load_state_dict(self, state_dict):
        if "global_state" not in state_dict:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state has no "
                             "'global_state' entry (it was not saved by this optimizer)")
        super().load_state_dict(state_dict)
        self.global_state = self._initial_global_state()
        self.global_state.update(state_dict["global_state"])
