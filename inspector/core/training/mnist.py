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


# MNIST's train images are 47 MB; anything over this is not MNIST (and a gz bomb stops here).
MAX_IDX_BYTES = 256 << 20
SIDE = 28  # MNIST's images are 28×28
CLASSES = 10


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _read_capped(path: Path, cap: int = MAX_IDX_BYTES) -> bytes:
    """The file's bytes (gunzipped if it is gzip), read no further than ``cap`` + 1 bytes."""
    if not path.is_file():
        raise ValueError(f"{path.name}: not a regular file")
    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read(cap + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path.name}: not a readable gzip file ({exc})") from None
    if len(data) > cap:
        raise ValueError(f"{path.name}: expands past {cap >> 20} MiB, more than MNIST holds")
    return data


def find_file(folder: Path, stem: str) -> Path:
    """The IDX file ``stem`` in ``folder``, gzip-compressed or not."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{folder}: has no {stem} (or {stem}.gz)")


def read_idx(path: Path) -> np.ndarray:
    """One IDX file as a uint8 array; raises ValueError naming the file if its header is wrong,
    says more or fewer values than the file holds, or the file (unzipped) is over
    ``MAX_IDX_BYTES`` (read no further than that: a gz bomb costs no memory)."""
    path = Path(path)
    raw = _read_capped(path)
    magic = int.from_bytes(raw[:4], "big")
    if len(raw) < 4 or magic not in _MAGIC:
        raise ValueError(f"{path.name}: not an IDX image or label file (magic {magic:#010x})")
    ndim = _MAGIC[magic]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path.name}: its header is cut short")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(dims, dtype=np.int64)):
        raise ValueError(f"{path.name}: header says {dims}, file holds {data.size} values")
    return data.reshape(dims)


def md5_uncompressed(path: Path) -> str:
    return hashlib.md5(_read_capped(Path(path))).hexdigest()


def load_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images [N, 28, 28] uint8, labels [N] uint8)`` for ``split`` in {"train", "test"};
    ValueError (one sentence naming the file) unless they are that, with N ≥ 1 and labels 0–9."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    image_file = find_file(folder, FILES[f"{split}_images"])
    label_file = find_file(folder, FILES[f"{split}_labels"])
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise ValueError(
            f"{image_file.name}: holds images of {list(images.shape)}, not N×{SIDE}×{SIDE}"
        )
    if labels.ndim != 1:
        raise ValueError(f"{label_file.name}: holds {list(labels.shape)}, not a list of labels")
    if len(images) == 0:
        raise ValueError(f"{image_file.name}: holds no images")
    if len(images) != len(labels):
        raise ValueError(f"{folder}: {len(images)} {split} images but {len(labels)} labels")
    if labels.max() >= CLASSES:
        raise ValueError(
            f"{label_file.name}: holds the label {int(labels.max())}, not a digit 0 to 9"
        )
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
