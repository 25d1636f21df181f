"""Supernet benchmarks (CPU-sized).

``throughput``: training images/s of the NB201 supernet (uniform sampling, and one fixed
path) vs the stand-alone NB201 ``TinyNetwork`` of the same arch and width, all in one run;
then one-shot evaluation throughput (archs/s) per BN mode.

``evidence``: a small end-to-end run: train the NB201 supernet (PE-NAS layout, C=16, N=5) on
a labelled synthetic set plus the 20 real CIFAR-10 test images of the shared benchmarks,
score >= 200 archs with the one-shot estimator on the held-out last 20% of that training
set, and print ``criteria_report`` against NB201 CIFAR-10 test accuracy.

    OMP_NUM_THREADS=2 .venv/bin/python tools/bench/supernet.py throughput
    OMP_NUM_THREADS=2 .venv/bin/python tools/bench/supernet.py evidence --steps 300 --archs 200
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from penas.estimators.data import png_batch
from penas.estimators.one_shot import BN_MODES, OneShotEstimator
from penas.spaces import get_space
from penas.spaces.paths import data_root
from penas.supernets import get_supernet
from penas.supernets.samplers import FixedSampler
from penas.supernets.trainer import SupernetTrainer, preset


def synthetic_set(n: int, seed: int = 0, hw: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """SYNTHETIC labelled images: per class a smooth random template (4x4 upsampled) + N(0, 1) noise."""
    g = torch.Generator().manual_seed(seed)
    templates = F.interpolate(torch.randn(10, 3, 4, 4, generator=g), size=(hw, hw), mode="bilinear", align_corners=False)
    y = torch.randint(0, 10, (n,), generator=g)
    x = 1.5 * templates[y] + torch.randn(n, 3, hw, hw, generator=g)
    return x, y


def _timed(step, batch: int, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def throughput(a: argparse.Namespace) -> None:
    space = get_space("nb201")
    torch.manual_seed(0)
    x, y = synthetic_set(a.batch * (a.steps + 2))
    arch = space.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|")
    cfg = preset("pe_nas", batch_size=a.batch, epochs=10**6)
    sn = get_supernet("nb201", layout="pe_nas")
    uniform = SupernetTrainer(sn, (x, y), cfg)
    fixed = SupernetTrainer(get_supernet("nb201", layout="pe_nas"), (x, y), cfg)
    fixed.sampler = FixedSampler(fixed.supernet, arch)
    net = space.build(arch)
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    it = iter(range(10**9))

    def standalone_step():
        i = next(it) % (a.steps + 2)
        xb, yb = x[i * a.batch : (i + 1) * a.batch], y[i * a.batch : (i + 1) * a.batch]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(xb), yb).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()

    models = {
        "supernet, uniform paths": uniform.train_step,
        "supernet, fixed path (same arch)": fixed.train_step,
        "stand-alone TinyNetwork (same arch)": standalone_step,
    }
    for step in models.values():
        step()  # warm-up
    # interleaved rounds, median per model: the machine is shared, so load drifts between rounds
    ips = {k: [] for k in models}
    for _ in range(a.rounds):
        for k, step in models.items():
            ips[k].append(_timed(step, a.batch, a.steps))
    base = float(np.median(ips["stand-alone TinyNetwork (same arch)"]))
    print(f"## training throughput (NB201 C=16 N=5, 32x32, batch {a.batch}, {a.rounds} interleaved rounds of "
          f"{a.steps} steps, median; {torch.get_num_threads()} threads)\n")
    print("| model | images/s | vs stand-alone |\n|---|---|---|")
    for k, v in ips.items():
        m = float(np.median(v))
        print(f"| {k} | {m:.1f} | {m / base:.2f}x |")
    archs = space.sample_many(a.eval_archs, np.random.default_rng(0))
    xe, ye = synthetic_set(5 * a.batch, seed=1)
    print(f"\n## one-shot evaluation throughput ({a.eval_archs} archs, 1 held-out batch of {a.batch}; "
          f"recalibrate: 2 batches)\n")
    print("| bn_mode | archs/s | vs train |\n|---|---|---|")
    ref = None
    for mode in BN_MODES:
        est = OneShotEstimator(space, supernet=sn, data=(xe, ye), batch_size=a.batch, n_batches=1,
                               recal_batches=2, bn_mode=mode, progress=False)
        est.score(archs[:1])  # warm-up
        t0 = time.perf_counter()
        est.score(archs)
        aps = len(archs) / (time.perf_counter() - t0)
        ref = ref or aps
        print(f"| {mode} | {aps:.2f} | {aps / ref:.2f}x |")


def evidence(a: argparse.Namespace) -> None:
    from penas.metrics import criteria_report

    space = get_space("nb201")
    torch.manual_seed(a.seed)
    real = png_batch()
    xs, ys = synthetic_set(a.synthetic, seed=a.seed)
    x = torch.cat([xs, real.inputs]).float()
    y = torch.cat([ys, real.targets])
    print(f"data: {a.synthetic} SYNTHETIC (class templates + noise) + {real.size} real CIFAR-10 images ({real.source}), "
          f"real ones last, so the held-out 20% = last {int(round(0.2 * len(y)))} samples")
    n_train = len(y) - int(round(0.2 * len(y)))
    sn = get_supernet("nb201", layout="pe_nas")
    epochs = max(1, -(-a.steps * a.batch // n_train))
    cfg = preset("pe_nas", batch_size=a.batch, epochs=epochs, seed=a.seed)
    tr = SupernetTrainer(sn, (x[:n_train], y[:n_train]), cfg, ckpt_dir=a.out, resume=True)
    t0 = time.perf_counter()
    st = tr.run(a.steps - tr.state.step if tr.state.step < a.steps else 0)
    print(f"trained {st.step} steps (epoch {st.epoch}, lr {tr.lr:.4f}, last loss {st.last_loss:.3f}) "
          f"in {time.perf_counter() - t0:.0f}s")
    gt: dict[str, float] = {}
    with open(data_root(None) / "nb201" / "derived" / "nb201_table.csv", newline="") as f:
        for row in csv.DictReader(f):
            gt[space.arch_id(row["arch_str"])] = float(row["test_acc_cifar10"])
    archs = space.sample_many(a.archs, np.random.default_rng(a.seed))
    ids = [space.format(ar) for ar in archs]
    g = np.array([gt[i] for i in ids])
    out = {}
    for metric in ("acc", "loss"):
        for mode in a.bn_modes:
            est = OneShotEstimator(space, supernet=sn, data=(x, y), batch_size=a.eval_batch, bn_mode=mode,
                                   metric=metric, recal_batches=4, store=str(Path(a.out) / "scores.sqlite"))
            t0 = time.perf_counter()
            s = est.score(ids)
            rep = criteria_report(s, g, invalid="last")
            out[f"{metric}/{mode}"] = rep
            print(f"one_shot metric={metric} bn_mode={mode}: n={rep.n} KT={rep.kendall_tau:.3f} "
                  f"SpR={rep.spearman:.3f} MKR={rep.mkr:.3f} ({time.perf_counter() - t0:.0f}s)")
    params = np.array([space.params(ar) for ar in archs], dtype=float)
    rep = criteria_report(params, g)
    print(f"baseline params: KT={rep.kendall_tau:.3f} SpR={rep.spearman:.3f}")
    (Path(a.out) / "evidence.json").write_text(json.dumps({k: v.to_dict() for k, v in out.items()}, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--steps", type=int, default=4)
    t.add_argument("--rounds", type=int, default=3)
    t.add_argument("--eval-archs", type=int, default=20)
    e = sub.add_parser("evidence")
    e.add_argument("--steps", type=int, default=300)
    e.add_argument("--batch", type=int, default=64)
    e.add_argument("--eval-batch", type=int, default=100)
    e.add_argument("--synthetic", type=int, default=1980)
    e.add_argument("--archs", type=int, default=200)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--bn-modes", nargs="+", default=["train"], choices=BN_MODES)
    e.add_argument("--out", default="/tmp/penas_supernet_evidence")
    a = ap.parse_args(sys.argv[1:] or ["throughput"])  # `make bench` runs every script without arguments
    {"throughput": throughput, "evidence": evidence}[a.cmd](a)


if __name__ == "__main__":
    main()
