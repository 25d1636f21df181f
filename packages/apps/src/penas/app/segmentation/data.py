"""ADE20K-format data for segmentation: layout check, datasets, a tiny synthetic dataset.

Layout (mmseg's ``ADE20KDataset``)::

    ROOT/images/<split>/*.jpg|*.png        RGB images
    ROOT/annotations/<split>/<stem>.png    8-bit labels, 0 = "other", 1..150 = classes

with ``split`` ``training`` or ``validation``. Labels are read with ``reduce_zero_label``
(0 -> 255 = ignore, l -> l - 1), so model classes are 0..149.

Pipelines follow mmseg 1.x's ADE20K configs, with the resizes done like mmcv's cv2 backend
(bilinear without antialiasing for images, rounded to uint8; floor-nearest for labels):

* ``mode="test"``: keep-ratio resize of the image to fit ``(4*size, size)`` (``(2048, 512)``);
  the label stays at its original resolution (the evaluator resizes logits to it).
* ``mode="train"``: keep-ratio resize to ``(4*size, size) * r``, ``r ~ U[0.5, 2.0]``; random
  ``crop x crop`` crop (``cat_max_ratio=0.75``, up to 10 tries); horizontal flip with p=0.5;
  pad to ``crop x crop`` (image 0, label 255). mmseg's ``PhotoMetricDistortion`` is not applied.
  The randomness of item ``i`` depends only on ``(seed, epoch, i)`` (see :meth:`SegDataset.set_epoch`),
  so a resumed run sees exactly the same samples.

Images are normalised with mmseg's RGB ``MEAN``/``STD`` after the geometric transforms and
before the padding, so padded image values are 0 after normalisation (as mmseg's
``SegDataPreProcessor``, and 0.x's ``Normalize`` then ``Pad``, do).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from penas.metrics.segmentation import reduce_zero_label

ADE20K_NUM_CLASSES = 150
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)
IGNORE_INDEX = 255
#: mmseg ``ADE20KDataset`` class names (index = reduced label).
ADE20K_CLASSES: tuple[str, ...] = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass", "cabinet",
    "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water",
    "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence", "desk",
    "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion", "base", "box", "column", "signboard",
    "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace", "refrigerator", "grandstand", "path",
    "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway", "river", "bridge", "bookcase",
    "blind", "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove", "palm",
    "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel", "bus", "towel",
    "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver", "airplane",
    "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet", "poster",
    "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool",
    "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food", "step", "tank",
    "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket", "sculpture",
    "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen", "plate", "monitor",
    "bulletin board", "shower", "radiator", "glass", "clock", "flag",
)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLITS = ("training", "validation")
__all__ = ["ADE20K_CLASSES", "ADE20K_NUM_CLASSES", "MEAN", "STD", "SegDataset", "check_layout", "make_tiny_ade20k",
           "reduce_zero_label"]
_LAYOUT = "--data: expected an ADE20K directory with images/{s}/*.jpg and annotations/{s}/*.png (same stems); "


def _layout_error(split: str, what: str) -> ValueError:
    return ValueError(_LAYOUT.format(s=split) + what)


def check_layout(root: str | Path, split: str) -> list[tuple[Path, Path]]:
    """The sorted (image, annotation) pairs of ``root``'s ``split``; a one-line ``ValueError``
    naming ``--data`` and the expected layout when anything is missing."""
    root = Path(root)
    if not root.is_dir():
        raise _layout_error(split, f"{root} is not a directory")
    img_dir, ann_dir = root / "images" / split, root / "annotations" / split
    for d in (img_dir, ann_dir):
        if not d.is_dir():
            raise _layout_error(split, f"no {d.relative_to(root).as_posix()} folder in {root}")
    images = sorted(p for p in img_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise _layout_error(split, f"no .jpg/.png images in {img_dir}")
    pairs: list[tuple[Path, Path]] = []
    missing: list[str] = []
    for img in images:
        ann = ann_dir / (img.stem + ".png")
        if ann.is_file():
            pairs.append((img, ann))
        else:
            missing.append(img.stem)
    if missing:
        raise _layout_error(split, f"{len(missing)} image(s) without annotations/{split}/<stem>.png "
                                   f"(first: {missing[0]})")
    return pairs


def rescale_size(w: int, h: int, scale: tuple[int, int]) -> tuple[int, int]:
    """mmcv ``rescale_size`` (keep ratio): the (w, h) fitting long edge <= max(scale) and
    short edge <= min(scale)."""
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return int(w * factor + 0.5), int(h * factor + 0.5)


def _resize_image(img: np.ndarray, w: int, h: int):
    """HWC uint8 -> CHW float tensor resized bilinearly (cv2 INTER_LINEAR semantics), rounded."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float()
    if (t.shape[1], t.shape[2]) != (h, w):
        # torch's CPU bilinear kernel rounds differently with the thread count, and the uint8
        # rounding turns that into whole grey levels: pin one thread (what DataLoader workers
        # use) so an image is the same in the main process, in a worker and on any machine
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            t = F.interpolate(t[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        finally:
            torch.set_num_threads(threads)
        t = t.round_().clamp_(0, 255)
    return t


def _resize_label(label: np.ndarray, w: int, h: int) -> np.ndarray:
    """Nearest (floor) resize of an HW int label (cv2 INTER_NEAREST semantics)."""
    lh, lw = label.shape
    if (lh, lw) == (h, w):
        return label
    ys = np.minimum((np.arange(h) * (lh / h)).astype(np.int64), lh - 1)
    xs = np.minimum((np.arange(w) * (lw / w)).astype(np.int64), lw - 1)
    return label[ys[:, None], xs[None, :]]


def _normalise(t):
    import torch

    mean = torch.tensor(MEAN, dtype=t.dtype).view(3, 1, 1)
    std = torch.tensor(STD, dtype=t.dtype).view(3, 1, 1)
    return (t - mean) / std


def read_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.array(im.convert("RGB"))


def read_label(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        if im.mode not in ("L", "P"):
            raise ValueError(f"--data: {path} is not an 8-bit (L or P mode) annotation PNG (mode {im.mode})")
        return np.asarray(im, dtype=np.uint8)


class SegDataset:
    """Map-style ADE20K-format dataset: ``ds[i] -> (image FloatTensor[3,H,W] normalised,
    label LongTensor[H,W] with 255 = ignore)``. See the module docstring for the pipelines."""

    def __init__(self, root: str | Path, split: str = "validation", mode: str = "test", size: int = 512,
                 crop: int = 512, reduce_zero_label: bool = True, seed: int = 0, limit: int | None = None) -> None:
        if mode not in ("test", "train"):
            raise ValueError(f"mode: expected 'test' or 'train', got {mode!r}")
        if size < 1 or crop < 1:
            raise ValueError(f"size/crop: expected positive sizes, got size={size}, crop={crop}")
        if limit is not None and limit < 1:
            raise ValueError(f"--limit: expected a positive number of images, got {limit}")
        self.root, self.split, self.mode = Path(root), split, mode
        self.size, self.crop, self.reduce_zero_label, self.seed = size, crop, reduce_zero_label, seed
        self.scale = (4 * size, size)
        self.epoch = 0
        pairs = check_layout(self.root, split)
        self.pairs = pairs[:limit] if limit is not None else pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def set_epoch(self, epoch: int) -> None:
        """Train mode: draw a different (but reproducible) augmentation per epoch."""
        self.epoch = epoch

    def load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Item ``i`` decoded, untransformed: (HWC uint8 RGB image, HW int64 label, 255 = ignore)."""
        img_path, ann_path = self.pairs[i]
        img, lab = read_image(img_path), read_label(ann_path)
        if img.shape[:2] != lab.shape:
            raise ValueError(f"--data: {img_path.name} is {img.shape[1]}x{img.shape[0]} but its annotation "
                             f"is {lab.shape[1]}x{lab.shape[0]}")
        label = reduce_zero_label(lab) if self.reduce_zero_label else lab.astype(np.int64)
        return img, label

    def __getitem__(self, i: int):
        import torch

        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} items")
        i = i % len(self)
        img, label = self.load(i)
        h, w = label.shape
        if self.mode == "test":
            nw, nh = rescale_size(w, h, self.scale)
            return _normalise(_resize_image(img, nw, nh)), torch.from_numpy(label)
        return self._train_item(img, label, i)

    def _train_item(self, img: np.ndarray, label: np.ndarray, i: int):
        import torch
        import torch.nn.functional as F

        rng = np.random.default_rng([self.seed, self.epoch, i])
        h, w = label.shape
        ratio = rng.uniform(0.5, 2.0)
        nw, nh = rescale_size(w, h, (int(self.scale[0] * ratio), int(self.scale[1] * ratio)))
        t = _resize_image(img, nw, nh)
        lab = _resize_label(label, nw, nh)
        c = self.crop

        def bbox() -> tuple[int, int]:
            return int(rng.integers(0, max(nh - c, 0) + 1)), int(rng.integers(0, max(nw - c, 0) + 1))

        y0, x0 = bbox()
        for _ in range(10):  # mmseg RandomCrop with cat_max_ratio=0.75
            crop = lab[y0:y0 + c, x0:x0 + c]
            cls, cnt = np.unique(crop, return_counts=True)
            cnt = cnt[cls != IGNORE_INDEX]
            if len(cnt) > 1 and cnt.max() / cnt.sum() < 0.75:
                break
            y0, x0 = bbox()
        t = t[:, y0:y0 + c, x0:x0 + c]
        lab = lab[y0:y0 + c, x0:x0 + c]
        if rng.random() < 0.5:
            t = t.flip(-1)
            lab = lab[:, ::-1]
        t = _normalise(t)
        lab_t = torch.from_numpy(np.ascontiguousarray(lab))
        ph, pw = c - t.shape[1], c - t.shape[2]
        if ph or pw:  # pad bottom/right after normalisation (mmseg): image 0, label 255
            t = F.pad(t, (0, pw, 0, ph), value=0.0)
            lab_t = F.pad(lab_t, (0, pw, 0, ph), value=IGNORE_INDEX)
        return t, lab_t


def _palette(num_classes: int, seed: int) -> np.ndarray:
    """A fixed, well-separated RGB colour per label value 0..num_classes."""
    rng = np.random.default_rng(10_000 + seed)
    return rng.integers(0, 256, size=(num_classes + 1, 3)).astype(np.int16)


def make_tiny_ade20k(root: str | Path, n_train: int = 4, n_val: int = 3, size: tuple[int, int] = (64, 48),
                     num_classes: int = 150, seed: int = 0) -> Path:
    """Write a tiny synthetic dataset in ADE20K layout under ``root`` and return ``root``.

    ``size`` is (width, height). Each image has a background of class 0 ("other") or a random
    class and 2-5 ellipse/rectangle blobs of random classes 1..``num_classes``; image pixels are
    the class's palette colour plus noise (so colour predicts the class), saved as JPEG;
    annotations are 8-bit grayscale PNGs. Names follow ADE20K (``ADE_train_00000001``).
    """
    from PIL import Image, ImageDraw

    if not 1 <= num_classes <= 254:
        raise ValueError(f"num_classes: expected 1..254, got {num_classes}")
    w, h = size
    if w < 8 or h < 8:
        raise ValueError(f"size: expected (width, height) of at least 8x8, got {size}")
    root = Path(root)
    rng = np.random.default_rng(seed)
    palette = _palette(num_classes, seed)
    for split, n, prefix in (("training", n_train, "ADE_train"), ("validation", n_val, "ADE_val")):
        img_dir, ann_dir = root / "images" / split, root / "annotations" / split
        img_dir.mkdir(parents=True, exist_ok=True)
        ann_dir.mkdir(parents=True, exist_ok=True)
        for k in range(n):
            bg = 0 if rng.random() < 0.5 else int(rng.integers(1, num_classes + 1))
            lab_im = Image.new("L", (w, h), color=bg)
            draw = ImageDraw.Draw(lab_im)
            for _ in range(int(rng.integers(2, 6))):
                cls = int(rng.integers(1, num_classes + 1))
                x0, x1 = sorted(int(v) for v in rng.integers(0, w, size=2))
                y0, y1 = sorted(int(v) for v in rng.integers(0, h, size=2))
                box = (x0, y0, max(x1, x0 + 3), max(y1, y0 + 3))
                (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=cls)
            lab = np.asarray(lab_im, dtype=np.uint8)
            noise = rng.integers(-20, 21, size=(h, w, 3))
            img = np.clip(palette[lab] + noise, 0, 255).astype(np.uint8)
            stem = f"{prefix}_{k + 1:08d}"
            Image.fromarray(img, "RGB").save(img_dir / f"{stem}.jpg", quality=95)
            lab_im.save(ann_dir / f"{stem}.png")
    return root
