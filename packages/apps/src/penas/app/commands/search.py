"""``penas-app search SPACE``: random search, REA and the PE-NAS presets (see
:mod:`penas.app.strategies`), with a resumable run directory (:mod:`penas.app.search.cell`).

``penas-app search segmentation`` (alias of ``--seg-space``) and a space whose object is a
segmentation space (``topformer``, ``topformer_small``, ``topformer_tiny``) go to the
FLOPs-constrained segmentation search of :mod:`penas.app.search.segmentation`; both run in the
one search session (:mod:`penas.app.search.session`)."""

from __future__ import annotations

import typer

from ..configs import SearchConfig, defaults
from ..segmentation.search_config import (
    ALIAS,
    SegSearchConfig,
    is_segmentation_run,
    is_segmentation_space,
    parse_flops,
)
from ._app import UserError, app

_D = defaults(SearchConfig)
_S = defaults(SegSearchConfig)
# The segmentation-only options: None (unset) or the SegSearchConfig default; any other value on a
# non-segmentation search is an error.
_SEG_CLI_DEFAULTS = {"seg_space": None, "data": None, "checkpoint": None, "min_votes": None, "eval_images": None,
                     "device": None,
                     **{k: _S[k] for k in ("rounds", "per_round", "zc_resolution", "size", "calib_batches",
                                           "calib_batch_size", "finetune_iters", "finetune_topk")}}


@app.command("search")
def search(
    space: str = typer.Argument(
        None, help="Search space: nb201, nasbench_macro, darts, attentivenas, segmentation (= --seg-space), "
                   "topformer, topformer_small, topformer_tiny."),
    strategy: str = typer.Option(_D["strategy"], help="random | rea | rea-seed | pe-nas | pe-nas-a | pe-nas-b | pe-nas-c"),
    budget: int = typer.Option(None, help="random/REA: fitness evaluations (100/500); PE-NAS: max archs trained."),
    seed: int = typer.Option(_D["seed"]),
    out: str = typer.Option(None, help="Run directory (default runs/<space>-<strategy>-s<seed>-<time>)."),
    preset: str = typer.Option(None, help="Named preset: demo (NB201, no download, a few minutes on CPU)."),
    candidates: str = typer.Option(_D["candidates"], help="auto | all | benchmark | sample:N"),
    proxies: str = typer.Option(None, help="Zero-cost proxies of the PE-NAS vote (default l2_norm,nwot,zen; "
                                           "segmentation: nwot,synflow,zen,l2_norm)."),
    zc_protocol: str = typer.Option(_D["zc_protocol"]),
    zc_batch_size: int = typer.Option(None, help=f"Zero-cost batch size (default {_D['zc_batch_size']}; "
                                                 f"segmentation: {_S['zc_batch_size']})."),
    zc_data: str = typer.Option(_D["zc_data"], help="auto (real CIFAR-10 when present) | png | synthetic | cifar10[:DIR][@SPLIT]"),
    one_shot: str = typer.Option(_D["one_shot"], help="Estimator of the one-shot stage, or none."),
    partial: str = typer.Option(_D["partial"], help="Partial-training stages: tabular | train | none."),
    partial_data: str = typer.Option(_D["partial_data"], help="train mode data: auto | synthetic | png | cifar10[:DIR][@SPLIT]"),
    partial_images: int = typer.Option(None, help="train mode on real CIFAR-10 (NB201 LESS.config protocol): "
                                                  "reduce the training images per epoch (default: all of nb201-train)."),
    partial_width: int = typer.Option(None, help="train mode: reduce the trained nets' width C (default: the space's)."),
    partial_eval_images: int = typer.Option(None, help="train mode on real CIFAR-10: validate on this prefix of "
                                                       "nb201-valid (default: all 25,000)."),
    partial_device: str = typer.Option(_D["partial_device"], help="train mode: where each arch trains: cpu | cuda | cuda:N."),
    fitness: str = typer.Option(_D["fitness"], help="random/REA fitness estimator (oracle = GT lookup)."),
    population: int = typer.Option(_D["population"]),
    sample_size: int = typer.Option(_D["sample_size"]),
    gt_metric: str = typer.Option(_D["gt_metric"]),
    gt_dataset: str = typer.Option(None),
    gt_source: str = typer.Option(_D["gt_source"], help="Ground truth: table | surrogate | auto (darts: the NB301 "
                                                        "surrogate over the whole space when its files are present)."),
    supernet: str = typer.Option(None, help="One-shot stage: trained supernet checkpoint (without it the stage is "
                                            "skipped, with a note)."),
    runtime_budget: float = typer.Option(None, help="random/REA: stop at this charged training runtime (s), e.g. "
                                                    "a PE-NAS run's; needs a GT with runtimes (darts surrogate)."),
    max_latency: list[str] = typer.Option([], help="DEVICE=MS (repeatable), from the GT latency tables."),
    max_flops: str = typer.Option(None, help="FLOPs limit: 0.6G, 600M or 6e8 (segmentation default 0.6G, at "
                                             "512x512)."),
    max_params: float = typer.Option(None),
    store: str = typer.Option(None, help="SQLite score store shared across runs."),
    score_file: list[str] = typer.Option([], help="NAME=PATH precomputed scores for a proxy/role (repeatable); PATH: a FreeREA CSV or penas:<table>[:<column>] (penas-app scores list-tables)."),
    chunk: int = typer.Option(_D["chunk"]),
    progress: bool = typer.Option(_D["progress"], "--progress/--no-progress"),
    resume: str = typer.Option(None, help="Continue the killed search in this run directory."),
    seg_space: str = typer.Option(None, help=f"segmentation: the space behind the alias (default {_S['space']})."),
    data: str = typer.Option(None, help="segmentation: ADE20K directory (training + validation splits)."),
    checkpoint: str = typer.Option(None, help="segmentation: supernet checkpoint (mIoU after BN recalibration)."),
    rounds: int = typer.Option(_S["rounds"], help="segmentation pe-nas-a: alternation rounds."),
    per_round: int = typer.Option(_S["per_round"], help="segmentation pe-nas-a: configs sampled per half-round."),
    min_votes: int = typer.Option(None, help="segmentation pe-nas-a: proxies an arch must pass (default majority)."),
    zc_resolution: int = typer.Option(_S["zc_resolution"], help="segmentation: zero-cost image size (px)."),
    size: int = typer.Option(_S["size"], help="segmentation: test scale (4*size, size) and calibration crop."),
    calib_batches: int = typer.Option(_S["calib_batches"], help="segmentation: BN recalibration batches."),
    calib_batch_size: int = typer.Option(_S["calib_batch_size"]),
    eval_images: int = typer.Option(None, help="segmentation: mIoU on the first N validation images (default all)."),
    finetune_iters: int = typer.Option(_S["finetune_iters"], help="segmentation: fine-tune the top-k this many "
                                                                  "iterations (0 = off, the HESS default)."),
    finetune_topk: int = typer.Option(_S["finetune_topk"]),
    device: str = typer.Option(None, help="segmentation: cpu | cuda | cuda:N (default cpu)."),
) -> None:
    """Search SPACE with a strategy; prints the chosen arch, its estimate and its ground truth."""
    from rich.console import Console

    from ..search.cell import run_search
    from ._render import print_summary

    console = Console(stderr=False)
    if resume is None and space is None:
        raise UserError("space: expected a search space name (or --resume RUN_DIR)")
    seg = {"seg_space": seg_space, "data": data, "checkpoint": checkpoint, "rounds": rounds, "per_round": per_round,
           "min_votes": min_votes, "zc_resolution": zc_resolution, "size": size, "calib_batches": calib_batches,
           "calib_batch_size": calib_batch_size, "eval_images": eval_images, "finetune_iters": finetune_iters,
           "finetune_topk": finetune_topk, "device": device}
    if (resume is not None and is_segmentation_run(resume)) or (resume is None and is_segmentation_space(space)):
        _search_segmentation(space, resume, console, strategy=strategy, budget=budget, seed=seed, out=out,
                             proxies=proxies, zc_batch_size=zc_batch_size, population=population,
                             sample_size=sample_size, max_flops=max_flops, store=store, progress=progress, **seg)
        return
    used = [k for k, v in seg.items() if v != _SEG_CLI_DEFAULTS[k]]
    if used:
        raise UserError(f"--{used[0].replace('_', '-')}: only for segmentation search (penas-app search segmentation)")
    cfg = None
    if resume is None:
        explicit = {
            "space": space, "strategy": strategy, "budget": budget, "seed": seed, "out": out, "preset": preset,
            "candidates": candidates,
            "proxies": _D["proxies"] if proxies is None else [p.strip() for p in proxies.split(",") if p.strip()],
            "zc_protocol": zc_protocol,
            "zc_batch_size": _D["zc_batch_size"] if zc_batch_size is None else zc_batch_size,
            "zc_data": zc_data, "one_shot": one_shot,
            "partial": partial, "partial_data": partial_data,
            "partial_images": partial_images, "partial_width": partial_width, "partial_eval_images": partial_eval_images, "partial_device": partial_device, "fitness": fitness, "population": population,
            "sample_size": sample_size, "gt_metric": gt_metric, "gt_dataset": gt_dataset, "gt_source": gt_source,
            "supernet": supernet, "runtime_budget": runtime_budget,
            "max_latency": list(max_latency), "max_flops": None if max_flops is None else parse_flops(max_flops),
            "max_params": max_params, "store": store,
            "score_file": list(score_file), "chunk": chunk, "progress": progress,
        }
        cfg = SearchConfig(**explicit)
        if preset is not None:
            # A preset sets fields the user left at their defaults; explicit options win.
            from dataclasses import replace

            from ..configs import SEARCH_PRESETS

            if preset not in SEARCH_PRESETS:
                raise UserError(f"--preset: expected one of {', '.join(SEARCH_PRESETS)}, got {preset!r}")
            over = {k: v for k, v in SEARCH_PRESETS[preset].items() if explicit[k] == _D[k]}
            cfg = replace(cfg, **over)
    from ._progress import LabelledProgress

    bar = LabelledProgress(console)

    def progress(label: str, done: int, total: int) -> None:
        # tabular partial training looks the final accuracy up: no bar for a 0.0 s "training" stage
        if not (cfg is not None and cfg.partial == "tabular" and label.startswith("partial")):
            bar(label, done, total)

    try:
        res = run_search(cfg, resume=resume, console=console, progress=progress)
    finally:
        bar.close()
    print_summary(res, console)


def _search_segmentation(space: str | None, resume: str | None, console, **opts) -> None:
    """``penas-app search segmentation|topformer*``: build a SegSearchConfig and run it."""
    from ..search.segmentation import run_segmentation_search
    from ._render import print_segmentation_report

    cfg = None
    if resume is None:
        seg_space = opts.pop("seg_space")
        if space != ALIAS and seg_space is not None and seg_space != space:
            raise UserError(f"--seg-space: only with 'search {ALIAS}' (the space is already {space!r})")
        name = (seg_space or _S["space"]) if space == ALIAS else space
        proxies = opts.pop("proxies")
        zc_bs = opts.pop("zc_batch_size")
        max_flops = opts.pop("max_flops")
        budget = opts.pop("budget")
        if opts["device"] is None:
            opts.pop("device")
        cfg = SegSearchConfig(
            space=name, max_flops=parse_flops("0.6G" if max_flops is None else max_flops),
            zc_batch_size=_S["zc_batch_size"] if zc_bs is None else zc_bs, budget=budget,
            **({} if proxies is None else {"proxies": [p.strip() for p in proxies.split(",") if p.strip()]}),
            **{k: v for k, v in opts.items() if k != "data"}, data=opts["data"] or "",
        )
    rep = run_segmentation_search(cfg, resume=resume, console=console)
    print_segmentation_report(rep, console)
