"""The state shared by all proxies of one ``score_module`` call.

One :class:`ProxyContext` holds one model and one batch. It

* snapshots every parameter and buffer once (``detach().clone()``) and restores them **in
  place** after each pass that changes state (BN running statistics of a train-mode forward,
  synflow's abs/float64 weights, zen's Gaussian re-init), so proxies never need a deep copy
  of the module and the order in which proxies run does not change any score;
* runs the *shared pass* lazily and once: one train-mode forward of the batch with the hooks
  the requested proxies need, one backward of the loss (weight gradients of every
  Conv2d/Linear layer; per-channel Fisher terms via output hooks), and, if asked, one more
  backward of ``sum(output)`` into the input (the Jacobian used by jacob_cov and epe_nas);
* seeds every pass with ``seed`` inside ``torch.random.fork_rng`` so dropout-like randomness
  is the same whatever ran before, and the global RNG is left untouched.

Gradients are taken with :func:`torch.autograd.grad`, so ``.grad`` fields of the user's
model are never touched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SHARED_PRODUCTS = frozenset(
    {"grads", "hvp", "fisher", "input_grad", "relu_codes", "relu_calls", "relu_patterns", "macs", "ntk"}
)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
OutputFn = Callable[[Any], torch.Tensor]


class ProxyUndefined(Exception):
    """The proxy is not defined for this network/input; the score becomes NaN (invalid)."""


def default_output(out: Any) -> torch.Tensor:
    """The logits tensor of a model output: a tensor, or ``out["logits"]`` / ``out["out"]``."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        for key in ("logits", "out"):
            if key in out:
                return out[key]
    raise ValueError(
        f"model output: expected a tensor (or a dict with 'logits'), got {type(out).__name__}; "
        "pass output_fn= to pick the logits"
    )


def task_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy that also fits dense (segmentation) outputs.

    ``[B,K]`` logits with ``[B]`` labels: plain CE. ``[B,K,h,w]`` maps with ``[B]`` image labels:
    every pixel gets its image's label (zero-cost scoring without masks). ``[B,K,h,w]`` with
    ``[B,H,W]`` masks: masks are resized (nearest) to ``h,w``; 255 is ignored.
    """
    if output.dim() > 2 and target.dim() == 1:
        target = target.view(-1, *([1] * (output.dim() - 2))).expand(-1, *output.shape[2:])
    elif output.dim() > 2 and target.dim() == output.dim() - 1 and target.shape[1:] != output.shape[2:]:
        target = F.interpolate(target[:, None].float(), size=output.shape[2:], mode="nearest")[:, 0].long()
    return F.cross_entropy(output, target, ignore_index=255)


def scored_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The Conv2d/Linear layers whose weights the per-layer proxies sum over."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _is_relu(m: nn.Module) -> bool:
    return "ReLU" in type(m).__name__


@dataclass
class SharedPass:
    """Products of the one shared forward/backward (only those some proxy asked for)."""

    loss: float = float("nan")
    grads: dict[str, torch.Tensor | None] = field(default_factory=dict)
    hvp: dict[str, torch.Tensor | None] = field(default_factory=dict)
    fisher: dict[str, torch.Tensor] = field(default_factory=dict)
    input_grad: torch.Tensor | None = None
    relu_K: np.ndarray | None = None
    relu_calls: int = 0
    relu_patterns: int = 0  # distinct per-neuron sign patterns across the batch (SWAP)
    ntk: np.ndarray | None = None  # [B, B] NTK of sum(logits) over "weight" parameters (TE-NAS)
    macs: int = 0
    output_dim: int = 2
    n_classes: int = 0


class _Snapshot:
    """Copies of every parameter and buffer (and dtypes/training flags), restorable in place."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.tensors: dict[tuple[int, str, str], torch.Tensor] = {}
        for mi, (_, mod) in enumerate(model.named_modules()):
            for k, p in mod._parameters.items():
                if p is not None:
                    self.tensors[(mi, "p", k)] = p.detach().clone()
            for k, b in mod._buffers.items():
                if b is not None:
                    self.tensors[(mi, "b", k)] = b.detach().clone()
        self.training = {m: m.training for m in model.modules()}
        self.requires_grad = {p: p.requires_grad for p in model.parameters()}

    @torch.no_grad()
    def restore(self) -> None:
        for mi, (_, mod) in enumerate(self.model.named_modules()):
            for k, p in mod._parameters.items():
                if p is None:
                    continue
                s = self.tensors[(mi, "p", k)]
                if p.dtype == s.dtype and p.shape == s.shape:
                    p.data.copy_(s)
                else:
                    p.data = s.clone()
            for k, b in mod._buffers.items():
                if b is None:
                    continue
                s = self.tensors[(mi, "b", k)]
                if b.dtype == s.dtype and b.shape == s.shape:
                    b.copy_(s)
                else:
                    mod._buffers[k] = s.clone()

    def restore_flags(self) -> None:
        for m, t in self.training.items():
            m.training = t
        for p, r in self.requires_grad.items():
            p.requires_grad_(r)


def _identity_forward(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    return x


class ProxyContext:
    """One model, one batch, and the lazily computed shared pass (see module docs)."""

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor | None,
        *,
        loss_fn: LossFn = task_loss,
        output_fn: OutputFn = default_output,
        seed: int | None = None,
        needs: frozenset[str] = frozenset(),
    ) -> None:
        self.model = model
        self.inputs = inputs
        self.targets = targets
        self.loss_fn = loss_fn
        self.output_fn = output_fn
        self.seed = 0 if seed is None else int(seed)
        self.needs = frozenset(needs)
        self.layers = scored_layers(model)
        self._snapshot: _Snapshot | None = None
        self._shared: SharedPass | None = None
        self.cache: dict[str, Any] = {}  # products of passes shared by several proxies

    # --- state handling ------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[ProxyContext]:
        """Snapshot the model, put it in train mode, and restore everything on exit."""
        self._snapshot = _Snapshot(self.model)
        self.model.train()
        try:
            yield self
        finally:
            self._snapshot.restore()
            self._snapshot.restore_flags()
            self._snapshot = None

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """Run a pass from the pristine state under a fixed seed; restore the model after it."""
        if self._snapshot is None:
            raise RuntimeError("ProxyContext.isolated() used outside session()")
        dev = self.inputs.device
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(self.seed)
            try:
                yield
            finally:
                self._snapshot.restore()
                self._snapshot.restore_flags()
                self.model.train()

    @contextlib.contextmanager
    def bn_off(self) -> Iterator[None]:
        """Every BatchNorm forward becomes the identity (the reference ``bn=False`` copies)."""
        patched = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for m in patched:
            m.forward = _identity_forward  # instance attribute shadows the class method
        try:
            yield
        finally:
            for m in patched:
                del m.forward

    def weights(self) -> list[torch.Tensor]:
        ws = [m.weight for _, m in self.layers]
        for w in ws:
            w.requires_grad_(True)
        return ws

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_fn(self.model(x))

    def require_targets(self) -> torch.Tensor:
        if self.targets is None:
            raise ValueError("batch: this proxy needs labels (targets), got none")
        return self.targets

    # --- the shared pass -----------------------------------------------------------------
    @property
    def shared(self) -> SharedPass:
        if self._shared is None:
            with self.isolated():
                self._shared = self._run_shared()
        return self._shared

    def _run_shared(self) -> SharedPass:
        needs = self.needs
        res = SharedPass()
        handles: list[Any] = []
        fisher_on = {"on": "fisher" in needs}
        bsz = self.inputs.shape[0]

        if "fisher" in needs:
            for name, mod in self.layers:
                handles.append(mod.register_forward_hook(self._fisher_hook(name, res, fisher_on)))
        if needs & {"relu_codes", "relu_calls", "relu_patterns"}:
            K = np.zeros((bsz, bsz), dtype=np.float64)
            calls = {"n": 0}
            words: list[np.ndarray] = []

            def relu_hook(mod: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
                calls["n"] += 1
                nwot = "relu_codes" in needs
                swap = "relu_patterns" in needs and inp[0].dim() == 4  # SWAP hooks ReLUs of 4-D inputs
                if nwot or swap:
                    c = sign_codes(inp[0])  # once for both: nwot's K and SWAP's patterns
                    if nwot:
                        K[...] += codes_agreement(c)
                    if swap:
                        words.append(pattern_words(c))

            for m in self.model.modules():
                if _is_relu(m):
                    handles.append(m.register_forward_pre_hook(relu_hook))
        if "macs" in needs:
            macs = {"n": 0}

            def mac_hook(mod: nn.Module, inp: Any, out: torch.Tensor) -> None:
                per_out = (
                    mod.in_channels // mod.groups * int(np.prod(mod.kernel_size))
                    if isinstance(mod, nn.Conv2d)
                    else mod.in_features
                )
                macs["n"] += out.numel() // out.shape[0] * per_out

            for _, mod in self.layers:
                handles.append(mod.register_forward_hook(mac_hook))

        want_grad = bool(needs & {"grads", "hvp", "fisher", "input_grad", "ntk"})
        try:
            x = self.inputs.clone()
            if "input_grad" in needs:
                x.requires_grad_(True)
            with torch.set_grad_enabled(want_grad):
                out = self.forward(x)
                res.output_dim = out.dim()
                res.n_classes = int(out.shape[1]) if out.dim() > 1 else 1
                hvp = "hvp" in needs
                if "ntk" in needs:
                    on, fisher_on["on"] = fisher_on["on"], False  # the Fisher hooks read the loss backward only
                    res.ntk = self._ntk(out)
                    fisher_on["on"] = on
                if needs & {"grads", "hvp", "fisher"}:
                    loss = self.loss_fn(out, self.require_targets())
                    res.loss = float(loss.detach())
                    ws = self.weights()
                    gs = torch.autograd.grad(
                        loss, ws, allow_unused=True, retain_graph=hvp or "input_grad" in needs, create_graph=hvp
                    )
                    res.grads = {name: None if g is None else g.detach() for (name, _), g in zip(self.layers, gs, strict=True)}
                fisher_on["on"] = False
                if "input_grad" in needs:
                    (res.input_grad,) = torch.autograd.grad(out.sum(), x, retain_graph=hvp)
                if hvp:
                    # GraSP's Hessian-gradient product from the same graph: d/dW sum(g.detach() * g).
                    pairs = [(i, g) for i, g in enumerate(gs) if g is not None and g.requires_grad]
                    res.hvp = {name: None for name, _ in self.layers}
                    if pairs:
                        z = sum((g.detach() * g).sum() for _, g in pairs)
                        hs = torch.autograd.grad(z, ws, allow_unused=True)
                        res.hvp = {name: h for (name, _), h in zip(self.layers, hs, strict=True)}
        finally:
            for h in handles:
                h.remove()
        if "relu_codes" in needs:
            res.relu_K = K
        if "relu_calls" in needs:
            res.relu_calls = calls["n"]
        if "relu_patterns" in needs:
            res.relu_patterns = count_distinct_rows(words)
        if "macs" in needs:
            res.macs = macs["n"]
        return res

    def _ntk(self, out: torch.Tensor) -> np.ndarray:
        """TE-NAS's NTK: per sample i the gradient of ``sum(out[i])`` with respect to every
        parameter whose name contains ``weight`` (BN weights included), through the batch graph
        (train-mode BN couples the samples); ``NTK = G G^T``. As the reference, one backward of
        the batch graph per sample (B calls): train-mode BN makes each of them a full-batch
        backward, so batching them (``is_grads_batched``) saves no work -- on CPU it was up to 2x
        slower and holds B copies of every activation gradient. The rows are kept in float32,
        the products summed in float64. The graph is kept for the loss backward that may follow."""
        params = [p for n, p in self.model.named_parameters() if "weight" in n]
        for p in params:
            p.requires_grad_(True)
        b = out.shape[0]
        rows = []
        sel = torch.zeros_like(out)
        for i in range(b):
            sel.zero_()
            sel[i] = 1.0
            gs = torch.autograd.grad(out, params, grad_outputs=sel, retain_graph=True, allow_unused=True)
            flat = [g.reshape(-1) for g in gs if g is not None]
            rows.append(torch.cat(flat) if flat else out.new_zeros(1))
        g_all = torch.stack(rows)
        ntk = torch.zeros((b, b), dtype=torch.float64, device=out.device)
        for chunk in torch.split(g_all, 1 << 16, dim=1):  # float64 products without a float64 copy of G
            c = chunk.to(torch.float64)
            ntk += c @ c.t()
        return ntk.cpu().numpy()

    @staticmethod
    def _fisher_hook(name: str, res: SharedPass, on: dict[str, bool]) -> Callable[..., None]:
        def fwd(mod: nn.Module, inp: Any, out: torch.Tensor) -> None:
            if not out.requires_grad:
                return
            act = out.detach()

            def bwd(grad: torch.Tensor) -> None:
                if not on["on"]:
                    return
                g = act * grad.detach()
                g_nk = g.sum(dim=tuple(range(2, g.dim()))) if g.dim() > 2 else g
                del_k = g_nk.pow(2).mean(0).mul(0.5)
                res.fisher[name] = res.fisher[name] + del_k if name in res.fisher else del_k

            out.register_hook(bwd)

        return fwd


def sign_codes(x: torch.Tensor) -> torch.Tensor:
    """``[B, units]`` float32 binary codes ``x > 0`` (every element of one sample is a unit)."""
    return (x.detach().reshape(x.shape[0], -1) > 0).to(torch.float32)


def codes_agreement(c: torch.Tensor) -> np.ndarray:
    """``[B, B]`` counts of units where two samples' codes agree (NASWOT's K).

    ``c c^T + (1-c)(1-c)^T = 2 c c^T - s_i - s_j + D`` (s = row sums); the entries are integer
    counts, exact in float32 below 2**24.
    """
    s = c.sum(1)
    k = 2.0 * (c @ c.t()) - s[:, None] - s[None, :] + float(c.shape[1])
    return k.to(torch.float64).cpu().numpy()


def sign_agreement(x: torch.Tensor) -> np.ndarray:
    """``[B, B]`` counts of units where two samples' pre-activations share a sign (NASWOT's K)."""
    return codes_agreement(sign_codes(x))


_WORD_CHUNKS = ((0, 24), (24, 48), (48, 64))  # rows of a 64-bit word summed exactly in float32


def pattern_words(c: torch.Tensor) -> np.ndarray:
    """Per unit, its code pattern across the batch as ``ceil(B/64)`` 64-bit words (bit i of word
    w = sample 64w + i is active), returned as ``[units, 8 * ceil(B/64)]`` uint8 bytes.

    Each word is assembled from chunks of at most 24 samples, ``2**arange(24) @ codes``: every
    partial sum is an integer below 2**24, so the float32 products are exact in any summation
    order (one pass over the codes instead of a bit-packing of a ``[B, units]`` bool array).
    """
    b, n = c.shape
    words = []
    for w0 in range(0, b, 64):
        key = torch.zeros(n, dtype=torch.int64, device=c.device)
        for lo, hi in _WORD_CHUNKS:
            part = c[w0 + lo : w0 + hi]
            if part.shape[0] == 0:
                break
            pw = torch.pow(2.0, torch.arange(part.shape[0], dtype=torch.float32, device=c.device))
            key |= (pw @ part).to(torch.int64) << lo
        words.append(key)
    keys = torch.stack(words, 1).cpu().numpy()
    return np.ascontiguousarray(keys).view(np.uint8).reshape(n, 8 * len(words))


def count_distinct_rows(words: list[np.ndarray]) -> int:
    """Number of distinct rows over the concatenation of ``[units, bytes]`` pattern blocks
    (one 64-bit key per row up to 64 samples, a byte-string key beyond)."""
    if not words:
        return 0
    allw = np.concatenate(words, 0)
    nbytes = allw.shape[1]
    if nbytes <= 8:
        keys = np.zeros((allw.shape[0], 8), dtype=np.uint8)
        keys[:, :nbytes] = allw
        return int(np.unique(keys.view(np.uint64)[:, 0]).size)
    return int(np.unique(allw.view(np.dtype((np.void, nbytes)))[:, 0]).size)


def layer_sum(values: list[torch.Tensor]) -> float:
    """Sum over layers of the sum over elements, in float64."""
    total = 0.0
    for v in values:
        total += float(v.detach().to(torch.float64).sum())
    return total
