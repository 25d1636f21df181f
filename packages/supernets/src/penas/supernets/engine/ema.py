"""Exponential moving average of a model's weights (floating tensors; buffers such as BN counters
are copied), kept as a plain state dict so that it checkpoints with ``weights_only=True``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn


class ModelEma:
    """``ema = decay * ema + (1 - decay) * weights`` after every optimizer step.

    Parameters
    ----------
    model : torch.nn.Module
        The model whose ``state_dict`` is averaged (its current weights start the average).
    decay : float
        In [0, 1).
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema_decay: expected a float in [0, 1), got {decay!r}")
        self.decay = float(decay)
        self.state: dict[str, torch.Tensor] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.decay
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.state[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                self.state[k].copy_(v)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = dict(state)

    def swapped_into(self, model: nn.Module) -> _Swap:
        """Context manager: ``model`` holds the EMA weights inside, its own weights again after."""
        return _Swap(model, self.state)


class _Swap:
    def __init__(self, model: nn.Module, weights: dict[str, torch.Tensor]) -> None:
        self.model, self.weights = model, weights
        self.saved: dict[str, torch.Tensor] | None = None

    def __enter__(self) -> nn.Module:
        self.saved = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.model.load_state_dict(self.weights)
        return self.model

    def __exit__(self, *exc: object) -> None:
        assert self.saved is not None
        self.model.load_state_dict(self.saved)
