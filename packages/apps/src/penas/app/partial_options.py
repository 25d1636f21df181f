"""``search --partial train`` options -> the ``partial_training`` estimator's configuration.

On real CIFAR-10 (``--partial-data cifar10[:DIR]``, or ``auto`` resolving to it) every space whose
nets take CIFAR-10 trains with NB201's 12-epoch protocol ``LESS.config`` (``protocol="less"``:
``nb201-train`` / ``nb201-valid``; :mod:`penas.estimators.partial_training`). ``--partial-images``
(fewer training images per epoch), ``--partial-eval-images`` (a prefix of ``nb201-valid`` instead
of all 25,000) and ``--partial-width`` (a narrower net) reduce it only when given; all land in the estimator's config, so every score's provenance records them.
"""

from __future__ import annotations

from typing import Any


def partial_protocol(space_name: str, data: str, images: int | None, width: int | None,
                     eval_images: int | None = None) -> dict[str, Any]:
    """Extra ``partial_training`` keywords for ``--partial train`` on ``space_name``; one-line
    errors naming the option when a reduction does not apply."""
    from penas.spaces import get_space
    from penas.spaces.datasets import parse_data_spec, resolve_auto

    spec = resolve_auto(parse_data_spec(data, "--partial-data"))
    real = spec.kind == "cifar10" and spec.split is None and "cifar10" in get_space(space_name).datasets
    out: dict[str, Any] = {}
    if real:
        from penas.estimators.partial_training import less_config

        out["protocol"] = "less"
        bs = int(less_config()["batch_size"])
        if images is not None:
            if images < bs:
                raise ValueError(f"--partial-images: expected at least one batch of {bs} images, got {images}")
            out["train_batches"] = images // bs
        if eval_images is not None:
            if eval_images < bs:
                raise ValueError(f"--partial-eval-images: expected at least one batch of {bs} images, got {eval_images}")
            out["eval_batches"] = eval_images // bs
    else:
        for opt, v in (("--partial-images", images), ("--partial-eval-images", eval_images)):
            if v is not None:
                raise ValueError(f"{opt}: only with --partial-data cifar10 (the NB201 LESS.config protocol), "
                                 f"got --partial-data {data!r}")
    if width is not None:
        if space_name != "nb201":
            raise ValueError(f"--partial-width: only for nb201 (its width C), not {space_name!r}")
        out["build_kwargs"] = {"C": int(width)}
    return out
