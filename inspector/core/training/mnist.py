"""Reading MNIST's IDX files (gzip-compressed or not) with numpy."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
from pathlib import Path

import numpy as np

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_MAGIC = {0x00000803: 3, 0x00000801: 1}


def _open_bytes(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        return fh.read()


def find_file(folder: Path, stem: str) -> Path:
    """The IDX file ``stem`` in ``folder``, gzip-compressed or not."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{stem}(.gz) not found in {folder}")


def read_idx(path: Path) -> np.ndarray:
    """One IDX file as a uint8 array; raises ValueError naming the file if the header is wrong."""
    raw = _open_bytes(Path(path))
    magic = int.from_bytes(raw[:4], "big")
    if magic not in _MAGIC:
        raise ValueError(f"{Path(path).name}: not an IDX image or label file (magic {magic:#010x})")
    ndim = _MAGIC[magic]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{Path(path).name}: header says {dims}, file holds {data.size} values")
    return data.reshape(dims)


def md5_uncompressed(path: Path) -> str:
    return hashlib.md5(_open_bytes(Path(path))).hexdigest()


def load_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images [N, 28, 28] uint8, labels [N] uint8)`` for ``split`` in {"train", "test"}."""
    folder = Path(folder)
    images = read_idx(find_file(folder, FILES[f"{split}_images"]))
    labels = read_idx(find_file(folder, FILES[f"{split}_labels"]))
    if len(images) != len(labels):
        raise ValueError(f"{folder}: {len(images)} {split} images but {len(labels)} labels")
    return images, labels


def checksums(folder: Path) -> dict[str, str]:
    return {stem: md5_uncompressed(find_file(Path(folder), stem)) for stem in FILES.values()}


def default_folder() -> str:
    """``../shared/mnist`` beside this checkout (or the working folder) if it holds MNIST."""
    here = Path(__file__).resolve().parents[3]  # the checkout holding the inspector package
    for candidate in (here.parent / "shared" / "mnist", Path.cwd().parent / "shared" / "mnist"):
        with contextlib.suppress(FileNotFoundError, OSError):
            find_file(candidate, FILES["train_images"])
            return str(candidate)
    return ""
