"""The bad-input corpus (issue 19): every case must exit 2 with exactly one ``error: ...`` line that
names the option or file and what was expected, print no traceback, start no work, and leave
every file it was given byte-identical.

The cases run in-process through :func:`penas.app.cli.main` (the entry point ``penas-app`` runs,
so its error handling is the one under test). Each case has a hard time limit: a case that starts
real work instead of failing up front trips it and fails the test.

The foreign files are built here (not data: they are deliberately broken SQLite databases, binary
blobs, truncated copies and malformed score files), because the point is how the CLI treats them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from penas.app.cli import main

CASE_TIME_LIMIT_S = 30


def _write_fixtures(d: Path) -> None:
    """The foreign inputs the corpus hands to the CLI."""
    from penas.estimators.store import ScoreStore

    d.mkdir(parents=True, exist_ok=True)
    (d / "garbage.db").write_bytes(b"this is not an SQLite database\n" * 64)
    (d / "binary.bin").write_bytes(bytes(range(256)) * 16)
    (d / "empty.txt").write_bytes(b"")
    (d / "empty.db").write_bytes(b"")
    (d / "afile").write_text("a plain file\n")
    # A real SQLite database of another program (a foreign schema).
    con = sqlite3.connect(d / "foreign.db")
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO customers (name) VALUES (?)", [(f"n{i}",) for i in range(200)])
    con.commit()
    con.close()
    # A penas score store cut in half (as by a full disk or an interrupted copy).
    ScoreStore(d / "full.db").put_many("nb201", "params", "h" * 8, {str(i): float(i) for i in range(3000)})
    with sqlite3.connect(d / "full.db") as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = (d / "full.db").read_bytes()
    (d / "truncated.db").write_bytes(raw[: len(raw) // 2])
    # A header that claims SQLite, then garbage.
    (d / "header.db").write_bytes(b"SQLite format 3\x00" + os.urandom(4096 - 16))
    # A valid store holding NB201 scores under a config hash no estimator produces.
    ScoreStore(d / "other_config.db").put_many("nb201", "synflow", "deadbeef00", {"0": 1.0, "1": 2.0, "2": 3.0})
    for name in list(d.glob("*-wal")) + list(d.glob("*-shm")):
        name.unlink()
    (d / "full.db").unlink()
    # Score files.
    (d / "dup.csv").write_text("index,synflow\n0,1.0\n0,2.0\n1,3.0\n")
    (d / "nan.csv").write_text("index,synflow\n0,1.0\n1,nan\n2,3.0\n")
    (d / "inf.csv").write_text("index,synflow\n0,1.0\n1,inf\n2,3.0\n")
    (d / "few.csv").write_text("index,synflow\n0,1.0\n1,2.0\n2,3.0\n")
    (d / "foreign_ids.csv").write_text("index,synflow\n99999999,1.0\n-5,2.0\n123456789,3.0\n")
    (d / "ids_empty.txt").write_text("\n# nothing\n\n")
    (d / "ids_bad.txt").write_text("not-an-arch\n")
    (d / "empty.yaml").write_text("")
    (d / "comment.yaml").write_text("# only a comment\n")
    (d / "list.yaml").write_text("- a\n- b\n")
    (d / "bad_proxy.yaml").write_text("space: nb201\nzero_shot: {proxies: [bogus]}\n")
    (d / "bad_bn.yaml").write_text("space: nb201\none_shot: {bn_mode: sideways}\n")
    (d / "bad_ckpt.yaml").write_text(f"space: nb201\nsupernet: {{checkpoints: [{d}/missing.pt]}}\n")
    (d / "bad_ckpt_bin.yaml").write_text(f"space: nb201\nsupernet: {{checkpoints: [{d}/binary.bin]}}\n")
    (d / "bad_zc_data.yaml").write_text("space: nb201\nzero_shot: {data: bogus}\n")
    (d / "bad_sn_data.yaml").write_text("space: nb201\nsupernet: {data: bogus}\n")
    (d / "bad_preset.yaml").write_text("space: nb201\nsupernet: {preset: bogus}\n")
    (d / "bad_executor.yaml").write_text("space: nb201\nexecutor: cluster\n")
    (d / "bad_gt.yaml").write_text("space: nb201\ngt: {dataset: svhn}\n")
    (d / "bad_archs.yaml").write_text(f"space: nb201\narchs: {d}/ids_empty.txt\n")
    (d / "results").mkdir()
    (d / "results" / "scores.csv").write_bytes(bytes(range(256)))


# (case id, argv with {d} = fixture dir and {o} = a fresh output path, text the error must name)
CASES: list[tuple[str, str, str]] = [
    # --- search --------------------------------------------------------------------------------
    ("search-store-garbage", "search nb201 --preset demo --out {o} --store {d}/garbage.db", "--store"),
    ("search-store-truncated", "search nb201 --preset demo --out {o} --store {d}/truncated.db", "--store"),
    ("search-store-header", "search nb201 --preset demo --out {o} --store {d}/header.db", "--store"),
    ("search-store-foreign", "search nb201 --preset demo --out {o} --store {d}/foreign.db", "--store"),
    ("search-store-binary", "search nb201 --preset demo --out {o} --store {d}/binary.bin", "--store"),
    ("search-store-dir", "search nb201 --preset demo --out {o} --store {d}", "--store"),
    ("search-store-under-file", "search nb201 --preset demo --out {o} --store {d}/afile/s.db", "--store"),
    ("search-store-readonly", "search nb201 --preset demo --out {o} --store {ro}/s.db", "--store"),
    ("search-proxies-unknown", "search nb201 --preset demo --out {o} --proxies l2_norm,bogus", "--proxies"),
    ("search-proxies-empty", "search nb201 --preset demo --out {o} --proxies ,", "--proxies"),
    ("search-score-file-missing", "search nb201 --preset demo --out {o} --score-file synflow={d}/missing.csv",
     "--score-file"),
    ("search-score-file-binary", "search nb201 --preset demo --out {o} --score-file synflow={d}/binary.bin",
     "--score-file"),
    ("search-score-file-no-eq", "search nb201 --preset demo --out {o} --score-file synflow", "--score-file"),
    ("search-partial-eval-images-0", "search nb201 --preset demo --out {o} --partial train --partial-eval-images 0",
     "--partial-eval-images"),
    ("search-partial-eval-images-synthetic", "search nb201 --preset demo --out {o} --partial train "
     "--partial-data synthetic --partial-eval-images 512", "--partial-eval-images"),
    ("search-score-table-unknown", "search nb201 --preset demo --out {o} --score-file synflow=penas:no_such_table",
     "--score-file"),
    ("search-score-table-space", "search nb201 --preset demo --out {o} --score-file synflow=penas:nasbench_macro_zc",
     "--score-file"),
    ("search-score-table-column", "search nasbench_macro --strategy pe-nas-a --out {o} "
     "--score-file zen=penas:nasbench_macro_zc:bogus", "--score-file"),
    ("search-score-table-empty", "search nb201 --preset demo --out {o} --score-file synflow=penas:", "--score-file"),
    ("search-zc-data", "search nb201 --preset demo --out {o} --zc-data bogus", "--zc-data"),
    ("search-zc-data-cifar-missing", "search nb201 --preset demo --out {o} --zc-data cifar10:{d}/nope",
     "--zc-data"),
    ("search-zc-batch-0", "search nb201 --preset demo --out {o} --zc-batch-size 0", "--zc-batch-size"),
    ("search-zc-batch-neg", "search nb201 --preset demo --out {o} --zc-batch-size -3", "--zc-batch-size"),
    ("search-zc-protocol", "search nb201 --preset demo --out {o} --zc-protocol bogus", "--zc-protocol"),
    ("search-budget-0", "search nb201 --strategy random --out {o} --budget 0", "--budget"),
    ("search-budget-neg", "search nb201 --strategy rea --out {o} --budget -1", "--budget"),
    ("search-population-0", "search nb201 --strategy rea --out {o} --population 0", "--population"),
    ("search-sample-size-0", "search nb201 --strategy rea --out {o} --sample-size 0", "--sample-size"),
    ("search-chunk-0", "search nb201 --preset demo --out {o} --chunk 0", "--chunk"),
    ("search-candidates-0", "search nb201 --preset demo --out {o} --candidates sample:0", "--candidates"),
    ("search-candidates-bogus", "search nb201 --preset demo --out {o} --candidates bogus", "--candidates"),
    ("search-strategy", "search nb201 --out {o} --strategy bogus", "--strategy"),
    ("search-preset", "search nb201 --out {o} --preset bogus", "--preset"),
    ("search-supernet-missing", "search nb201 --out {o} --candidates sample:8 --supernet {d}/missing.pt", "--supernet"),
    ("search-supernet-binary", "search nb201 --out {o} --candidates sample:8 --supernet {d}/binary.bin", "--supernet"),
    ("search-one-shot", "search nb201 --out {o} --one-shot bogus", "--one-shot"),
    ("search-partial", "search nb201 --preset demo --out {o} --partial bogus", "--partial"),
    ("search-partial-data", "search nb201 --preset demo --out {o} --partial train --partial-data bogus",
     "--partial-data"),
    ("search-partial-device", "search nb201 --preset demo --out {o} --partial train --partial-device tpu",
     "--partial-device"),
    ("search-fitness", "search nb201 --strategy random --out {o} --fitness bogus", "--fitness"),
    ("search-gt-dataset", "search nb201 --preset demo --out {o} --gt-dataset svhn", "--gt-dataset"),
    ("search-gt-metric", "search nb201 --preset demo --out {o} --gt-metric bogus", "--gt-metric"),
    ("search-max-latency", "search nb201 --preset demo --out {o} --max-latency pixel3", "--max-latency"),
    ("search-max-latency-device", "search nb201 --preset demo --out {o} --max-latency toaster=5",
     "--max-latency"),
    ("search-max-flops", "search nb201 --preset demo --out {o} --max-flops lots", "--max-flops"),
    ("search-max-params-neg", "search nb201 --preset demo --out {o} --max-params -1", "--max-params"),
    ("search-seed-neg", "search nb201 --preset demo --out {o} --seed -1", "--seed"),
    ("search-space", "search bogus --out {o}", "space"),
    ("search-out-under-file", "search nb201 --preset demo --out {d}/afile/run", "--out"),
    ("search-out-readonly", "search nb201 --preset demo --out {ro}/run", "--out"),
    ("search-out-full", "search nb201 --preset demo --out {full}/run", "--out"),
    ("search-store-full", "search nb201 --preset demo --out {o} --store {full}/s.db", "--store"),
    ("search-out-is-file", "search nb201 --preset demo --out {d}/afile", "--out"),
    ("search-resume-missing", "search --resume {d}/no-such-run", "--resume"),
    ("search-resume-not-run", "search --resume {d}/results", "--resume"),
    ("search-seg-option", "search nb201 --out {o} --rounds 3", "--rounds"),
    # --- evaluate ------------------------------------------------------------------------------
    ("eval-from-store-garbage", "evaluate nb201 --out {o} --estimators params --from-store {d}/garbage.db",
     "--from-store"),
    ("eval-from-store-truncated", "evaluate nb201 --out {o} --estimators params --from-store {d}/truncated.db",
     "--from-store"),
    ("eval-from-store-header", "evaluate nb201 --out {o} --estimators params --from-store {d}/header.db",
     "--from-store"),
    ("eval-from-store-foreign", "evaluate nb201 --out {o} --estimators params --from-store {d}/foreign.db",
     "--from-store"),
    ("eval-from-store-empty", "evaluate nb201 --out {o} --estimators params --from-store {d}/empty.db",
     "--from-store"),
    ("eval-from-store-binary", "evaluate nb201 --out {o} --estimators params --from-store {d}/binary.bin",
     "--from-store"),
    ("eval-from-store-dir", "evaluate nb201 --out {o} --estimators params --from-store {d}", "--from-store"),
    ("eval-from-store-other-config",
     "evaluate nb201 --out {o} --estimators synflow --archs sample:5 --from-store {d}/other_config.db",
     "deadbeef00"),
    ("eval-store-garbage", "evaluate nb201 --out {o} --estimators params --store {d}/garbage.db", "--store"),
    ("eval-store-foreign", "evaluate nb201 --out {o} --estimators params --store {d}/foreign.db", "--store"),
    ("eval-store-truncated", "evaluate nb201 --out {o} --estimators params --store {d}/truncated.db", "--store"),
    ("eval-store-readonly", "evaluate nb201 --out {o} --estimators params --store {ro}/s.db", "--store"),
    ("eval-gt-dataset", "evaluate nb201 --out {o} --estimators params --gt-dataset svhn", "--gt-dataset"),
    ("eval-gt-metric", "evaluate nb201 --out {o} --estimators params --gt-metric bogus", "--gt-metric"),
    ("eval-archs-empty", "evaluate nb201 --out {o} --estimators params --archs {d}/ids_empty.txt", "--archs"),
    ("eval-archs-binary", "evaluate nb201 --out {o} --estimators params --archs {d}/binary.bin", "--archs"),
    ("eval-archs-bad-id", "evaluate nb201 --out {o} --estimators params --archs {d}/ids_bad.txt", "--archs"),
    ("eval-archs-sample-0", "evaluate nb201 --out {o} --estimators params --archs sample:0", "--archs"),
    ("eval-archs-bogus", "evaluate nb201 --out {o} --estimators params --archs bogus", "--archs"),
    ("eval-score-file-dup", "evaluate nb201 --out {o} --estimators synflow --archs sample:3 "
     "--score-file synflow={d}/dup.csv", "dup.csv"),
    ("eval-score-file-nan", "evaluate nb201 --out {o} --estimators synflow --archs sample:3 "
     "--score-file synflow={d}/nan.csv", "nan.csv"),
    ("eval-score-file-inf", "evaluate nb201 --out {o} --estimators synflow --archs sample:3 "
     "--score-file synflow={d}/inf.csv", "inf.csv"),
    ("eval-score-file-few", "evaluate nb201 --out {o} --estimators synflow --archs all "
     "--score-file synflow={d}/few.csv", "few.csv"),
    ("eval-score-file-binary", "evaluate nb201 --out {o} --estimators synflow --score-file synflow={d}/binary.bin",
     "--score-file"),
    ("eval-score-file-missing", "evaluate nb201 --out {o} --estimators synflow --score-file synflow={d}/nope.csv",
     "--score-file"),
    ("eval-score-file-unused", "evaluate nb201 --out {o} --estimators params --score-file synflow={d}/few.csv",
     "--score-file"),
    ("eval-estimators-unknown", "evaluate nb201 --out {o} --estimators params,bogus", "--estimators"),
    ("eval-estimators-empty", "evaluate nb201 --out {o} --estimators ,", "--estimators"),
    ("eval-zc-data", "evaluate nb201 --out {o} --estimators synflow --zc-data bogus", "--zc-data"),
    ("eval-zc-batch-0", "evaluate nb201 --out {o} --estimators synflow --zc-batch-size 0", "--zc-batch-size"),
    ("eval-space", "evaluate bogus --out {o}", "space"),
    ("eval-out-under-file", "evaluate nb201 --estimators params --archs sample:5 --out {d}/afile/x", "--out"),
    ("eval-out-readonly", "evaluate nb201 --estimators params --archs sample:5 --out {ro}/x", "--out"),
    ("eval-out-full", "evaluate nb201 --estimators params --archs sample:5 --out {full}/x", "--out"),
    ("eval-store-full", "evaluate nb201 --out {o} --estimators params --store {full}/s.db", "--store"),
    ("eval-both-stores", "evaluate nb201 --out {o} --estimators params --store {o}.db --from-store "
     "{d}/other_config.db", "--from-store"),
    # --- zero-shot -----------------------------------------------------------------------------
    ("zs-store-garbage", "zero-shot nb201 --archs sample:2 --store {d}/garbage.db", "--store"),
    ("zs-store-foreign", "zero-shot nb201 --archs sample:2 --store {d}/foreign.db", "--store"),
    ("zs-store-truncated", "zero-shot nb201 --archs sample:2 --store {d}/truncated.db", "--store"),
    ("zs-store-under-file", "zero-shot nb201 --archs sample:2 --store {d}/afile/s.db", "--store"),
    ("zs-store-readonly", "zero-shot nb201 --archs sample:2 --store {ro}/s.db", "--store"),
    ("zs-store-full", "zero-shot nb201 --archs sample:2 --store {full}/s.db", "--store"),
    ("zs-proxies", "zero-shot nb201 --archs sample:2 --store {o}.db --proxies nwot,bogus", "--proxies"),
    ("zs-seeds", "zero-shot nb201 --archs sample:2 --store {o}.db --seeds 1,x", "--seeds"),
    ("zs-batches-0", "zero-shot nb201 --archs sample:2 --store {o}.db --batches 0", "--batches"),
    ("zs-batch-size-0", "zero-shot nb201 --archs sample:2 --store {o}.db --batch-size 0", "--batch-size"),
    ("zs-data", "zero-shot nb201 --archs sample:2 --store {o}.db --data bogus", "--data"),
    ("zs-archs-0", "zero-shot nb201 --archs sample:0 --store {o}.db", "--archs"),
    ("zs-archs-empty", "zero-shot nb201 --archs {d}/ids_empty.txt --store {o}.db", "--archs"),
    ("zs-chunk-0", "zero-shot nb201 --archs sample:2 --store {o}.db --chunk 0", "--chunk"),
    ("zs-dataset", "zero-shot nb201 --archs sample:2 --store {o}.db --dataset svhn", "--dataset"),
    # --- analyze bias --------------------------------------------------------------------------
    ("bias-store-garbage", "analyze bias nb201 --out {o} --store {d}/garbage.db", "--store"),
    ("bias-store-foreign", "analyze bias nb201 --out {o} --store {d}/foreign.db", "--store"),
    ("bias-store-truncated", "analyze bias nb201 --out {o} --store {d}/truncated.db", "--store"),
    ("bias-store-missing", "analyze bias nb201 --out {o} --store {d}/missing.db", "--store"),
    ("bias-min-archs-0", "analyze bias nb201 --out {o} --score-file synflow={d}/few.csv --min-archs 0",
     "--min-archs"),
    ("bias-foreign-ids", "analyze bias nb201 --out {o} --score-file synflow={d}/foreign_ids.csv",
     "foreign_ids.csv"),
    ("bias-score-file-binary", "analyze bias nb201 --out {o} --score-file synflow={d}/binary.bin", "--score-file"),
    ("bias-nothing", "analyze bias nb201 --out {o}", "--store"),
    ("bias-out-under-file", "analyze bias nb201 --out {d}/afile/x --score-file synflow={d}/few.csv", "--out"),
    # --- study ---------------------------------------------------------------------------------
    ("study-empty-yaml", "study nb201 --config {d}/empty.yaml", "empty.yaml"),
    ("study-comment-yaml", "study nb201 --config {d}/comment.yaml", "comment.yaml"),
    ("study-list-yaml", "study nb201 --config {d}/list.yaml", "list.yaml"),
    ("study-binary-yaml", "study nb201 --config {d}/binary.bin", "binary.bin"),
    ("study-missing-yaml", "study nb201 --config {d}/missing.yaml", "--config"),
    ("study-bad-proxy", "study nb201 --config {d}/bad_proxy.yaml", "zero_shot.proxies"),
    ("study-bad-bn", "study nb201 --config {d}/bad_bn.yaml", "one_shot.bn_mode"),
    ("study-bad-ckpt", "study nb201 --config {d}/bad_ckpt.yaml", "supernet.checkpoints"),
    ("study-bad-ckpt-binary", "study nb201 --config {d}/bad_ckpt_bin.yaml", "supernet.checkpoints"),
    ("study-bad-zc-data", "study nb201 --config {d}/bad_zc_data.yaml", "zero_shot.data"),
    ("study-bad-sn-data", "study nb201 --config {d}/bad_sn_data.yaml", "supernet.data"),
    ("study-bad-preset", "study nb201 --config {d}/bad_preset.yaml", "supernet.preset"),
    ("study-bad-executor", "study nb201 --config {d}/bad_executor.yaml", "executor"),
    ("study-bad-gt", "study nb201 --config {d}/bad_gt.yaml", "gt.dataset"),
    ("study-bad-archs", "study nb201 --config {d}/bad_archs.yaml", "archs"),
    ("study-bad-set", "study nb201 --config {d}/bad_proxy.yaml --set nonsense", "--set"),
    ("study-space-mismatch", "study darts --config {d}/bad_bn.yaml", "space"),
    # --- supernet ------------------------------------------------------------------------------
    ("sn-train-channels-0", "supernet train nb201 --out {o} --channels 0 --max-steps 1", "--channels"),
    ("sn-train-cells-0", "supernet train nb201 --out {o} --cells 0 --max-steps 1", "--cells"),
    ("sn-train-epochs-0", "supernet train nb201 --out {o} --epochs 0", "--epochs"),
    ("sn-train-batch-0", "supernet train nb201 --out {o} --batch-size 0", "--batch-size"),
    ("sn-train-lr-neg", "supernet train nb201 --out {o} --lr -1", "--lr"),
    ("sn-train-data", "supernet train nb201 --out {o} --data bogus:1", "--data"),
    ("sn-train-preset", "supernet train nb201 --out {o} --preset bogus", "--preset"),
    ("sn-train-space", "supernet train bogus --out {o}", "space"),
    ("sn-train-out-under-file", "supernet train nb201 --out {d}/afile/ck --max-steps 1", "--out"),
    ("sn-train-out-readonly", "supernet train nb201 --out {ro}/ck --max-steps 1", "--out"),
    ("sn-train-out-full", "supernet train nb201 --out {full}/ck --max-steps 1", "--out"),
    ("sn-eval-ckpt-missing", "supernet eval nb201 --checkpoints {d}/missing.pt --store {o}.db", "--checkpoints"),
    ("sn-eval-ckpt-binary", "supernet eval nb201 --checkpoints {d}/binary.bin --store {o}.db", "--checkpoints"),
    ("sn-eval-bn-mode", "supernet eval nb201 --checkpoints {d}/binary.bin --store {o}.db --bn-mode sideways",
     "--bn-mode"),
    # --- retrain -------------------------------------------------------------------------------
    ("retrain-dataset", "retrain darts --genotype DARTS_V2 --dataset svhn --data {d} --out {o}", "--dataset"),
    ("retrain-stop-after-0", "retrain darts --genotype nonsense --dataset cifar10 --data {d} --out {o} "
     "--stop-after 0", "--stop-after"),
    ("retrain-genotype", "retrain darts --genotype nonsense --dataset cifar10 --data {d} --out {o}", "--genotype"),
    # --- plot ----------------------------------------------------------------------------------
    ("plot-budget-0", "plot kdt-vs-mkr {d}/results --search-budget 0", "--search-budget"),
    ("plot-runs-neg", "plot kdt-vs-mkr {d}/results --search-runs -1", "--search-runs"),
    ("plot-results-missing", "plot kdt-vs-mkr {d}/no-such-dir", "results"),
    ("plot-results-binary", "plot kdt-vs-mkr {d}/results", "scores.csv"),
    # --- data / config -------------------------------------------------------------------------
    ("data-import-binary", "data import nb201 {d}/binary.bin", "binary.bin"),
    ("data-import-missing", "data import nb201 {d}/missing.json", "missing.json"),
    ("data-info-space", "data info bogus", "bogus"),
    ("config-dump", "config dump bogus", "bogus"),
]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad-inputs") / "in"
    _write_fixtures(d)
    return d


def _mount_tmpfs(path: Path, opts: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def special_dirs(tmp_path_factory):
    """``ro``: a read-only directory (mode 0555; as root, a read-only tmpfs). ``full``: a directory
    on a full file system (as root, a 64 KiB tmpfs filled up); None where neither can be made."""
    base = tmp_path_factory.mktemp("special")
    ro, full = base / "ro", base / "full"
    mounted = []
    if os.geteuid() != 0:
        ro.mkdir()
        ro.chmod(0o555)
    elif _mount_tmpfs(ro, "ro,size=64k"):
        mounted.append(ro)
    else:
        ro = None
    try:
        if _mount_tmpfs(full, "size=64k"):
            mounted.append(full)
            fd = os.open(full / "filler", os.O_WRONLY | os.O_CREAT)
            for size in (4096, 512, 1):  # fill to the last byte
                try:
                    while True:
                        os.write(fd, b"x" * size)
                except OSError:
                    pass
            os.close(fd)
        else:
            full = None
        yield {"ro": ro, "full": full}
    finally:
        for m in mounted:
            subprocess.run(["umount", str(m)], capture_output=True)
        if ro is not None and ro.exists() and not mounted:
            ro.chmod(0o755)


def _hashes(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


class _TimeLimit(Exception):
    pass


def _alarm(*_):
    raise _TimeLimit(f"the case did not fail within {CASE_TIME_LIMIT_S}s: it started real work")


def run_case(argv: list[str], capsys) -> tuple[int, str, str]:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_TIME_LIMIT_S)
    try:
        with pytest.raises(SystemExit) as e:
            main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


@pytest.mark.parametrize("case, argv, named", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, argv, named, fixtures, special_dirs, tmp_path, capsys, monkeypatch):
    for key in ("ro", "full"):
        if "{" + key + "}" in argv and special_dirs[key] is None:
            pytest.skip(f"cannot make a {'read-only' if key == 'ro' else 'full'} directory here")
    monkeypatch.chdir(tmp_path)  # default output paths (eval-<space>, runs/...) land in tmp
    before = _hashes(fixtures)
    args = argv.format(d=fixtures, o=tmp_path / "out", **special_dirs).split()
    code, out, err = run_case(args, capsys)
    lines = [ln for ln in (out + err).splitlines() if ln.strip()]
    assert code == 2, f"exit {code}; output: {out + err!r}"
    assert len(lines) == 1, f"expected one line, got: {lines!r}"
    assert lines[0].startswith("error: "), lines
    assert "Traceback" not in out + err
    assert named in lines[0], f"{named!r} not named in {lines[0]!r}"
    assert _hashes(fixtures) == before, "a file given to the CLI was changed"
    # No half-written outputs: no temp files, no 0-byte databases, no report.
    left = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in left if ".tmp" in p.name], left
    assert not [p for p in left if p.suffix == ".db" and p.stat().st_size == 0], left
    assert not [p for p in left if p.name in ("report.json", "result.json", "scores.csv")], left
    if "{full}" in argv:  # nothing left behind on the full disk either
        left = sorted(p.name for p in special_dirs["full"].iterdir() if p.name != "filler")
        for p in special_dirs["full"].iterdir():
            if p.name != "filler":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        assert not left, f"left on the full disk: {left}"
