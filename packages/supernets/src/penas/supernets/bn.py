"""BatchNorm recalibration of a (sub)network: the one-shot ``recalibrate`` BN mode and the
segmentation evaluator's "BN recalibration for supernet subnets" share it.

The running statistics of every BN layer are reset and re-estimated as the cumulative average
(``momentum=None``) over the given input batches, with only the BN layers in train mode
(dropout and drop-path stay off); afterwards the momenta and the layers' train/eval flags are
restored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn as nn


def bn_layers(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, inputs: Iterable[torch.Tensor], device: torch.device | str | None = None,
                   on_batch: Callable[[int], None] | None = None) -> int:
    """Re-estimate ``model``'s BN statistics on ``inputs`` (see the module docstring); returns
    the number of batches seen. ``device``: where the inputs go (default: left where they are)."""
    bns = bn_layers(model)
    if not bns:
        return 0
    flags = [(m, m.training) for m in model.modules()]
    saved = [m.momentum for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the recalibration batches
        m.train()
    n = 0
    try:
        for x in inputs:
            model(x if device is None else x.to(device))
            n += 1
            if on_batch is not None:
                on_batch(n)
    finally:
        for m, mom in zip(bns, saved, strict=True):
            m.momentum = mom
        for m, training in flags:
            m.training = training
    return n
