import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from inspector.core.training.mnist import read_idx


def _write_idx(path: Path, array: np.ndarray, magic: int, compress: bool) -> None:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


@pytest.mark.parametrize("compress", [True, False])
def test_reads_images(tmp_path: Path, compress: bool):
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    path = tmp_path / "imgs"
    _write_idx(path, images, 0x00000803, compress)
    assert np.array_equal(read_idx(path), images)


def test_bad_magic_names_the_file(tmp_path: Path):
    path = tmp_path / "garbage.idx"
    path.write_bytes(b"\x12\x34\x56\x78" + b"\x00" * 20)
    with pytest.raises(ValueError, match=r"garbage\.idx"):
        read_idx(path)


def test_truncated_file_is_refused(tmp_path: Path):
    path = tmp_path / "short"
    path.write_bytes((0x00000801).to_bytes(4, "big") + (100).to_bytes(4, "big") + b"\x01" * 10)
    with pytest.raises(ValueError, match="100"):
        read_idx(path)


# -- the folders `train --data` is given: each refused in one sentence, exit 1 -----------------
STEMS = {
    "train-images-idx3-ubyte": "images",
    "train-labels-idx1-ubyte": "labels",
    "t10k-images-idx3-ubyte": "images",
    "t10k-labels-idx1-ubyte": "labels",
}


def _folder(folder: Path, n: int = 4, side: int = 28, label: int = 3, gz: bool = False) -> Path:
    folder.mkdir()
    for stem, kind in STEMS.items():
        name = f"{stem}.gz" if gz else stem
        if kind == "images":
            _write_idx(folder / name, np.ones((n, side, side)), 0x00000803, gz)
        else:
            _write_idx(folder / name, np.full(n, label), 0x00000801, gz)
    return folder


def _gz_bomb(path: Path, expands_to: int) -> None:
    """A gzip stream of an IDX header saying 10**6 images, then zeros: a few hundred KB."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    header = (0x00000803).to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in (10**6, 28, 28)
    )
    chunk = bytes(8 << 20)
    with path.open("wb") as out:
        out.write(packer.compress(header))
        for _ in range(expands_to // len(chunk)):
            out.write(packer.compress(chunk))
        out.write(packer.flush())


def _bad(kind: str, tmp_path: Path) -> Path:
    folder = tmp_path / kind.replace(" ", "_")
    images = folder / "train-images-idx3-ubyte"
    if kind == "missing":
        return folder
    if kind == "wrong files":
        folder.mkdir()
        (folder / "train.csv").write_text("label,pixels\n")
        return folder
    if kind == "wrong dims":
        return _folder(folder, side=32)
    if kind == "labels 255":
        return _folder(folder, label=255)
    if kind == "empty":
        return _folder(folder, n=0)
    _folder(folder)
    if kind == "bad magic":
        images.write_bytes(b"\x12\x34\x56\x78" + images.read_bytes()[4:])
    elif kind == "count lie":
        raw = bytearray(images.read_bytes())
        raw[4:8] = (5).to_bytes(4, "big")  # says 5, holds 4
        images.write_bytes(bytes(raw))
    elif kind == "fake gz":
        images.unlink()
        (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b" + b"not gzip" * 50)
    elif kind == "gz bomb":
        images.unlink()
        _gz_bomb(folder / "train-images-idx3-ubyte.gz", 300 << 20)
    elif kind == "labels short":
        _write_idx(folder / "train-labels-idx1-ubyte", np.full(3, 1), 0x00000801, False)
    elif kind == "a folder":
        images.unlink()
        images.mkdir()
    elif kind == "a device":
        images.unlink()
        images.symlink_to("/dev/zero")
    return folder


BAD = [
    "bad magic", "count lie", "wrong dims", "labels 255", "empty", "fake gz", "wrong files",
    "missing", "gz bomb", "labels short", "a folder", "a device",
]  # fmt: skip


@pytest.mark.parametrize("kind", BAD)
def test_train_refuses_each_bad_folder_in_one_sentence(kind, tmp_path, capsys):
    import resource

    from inspector.cli.train import main

    folder = _bad(kind, tmp_path)
    out = tmp_path / "weights.safetensors"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = main(["--data", str(folder), "--epochs", "1", "--out", str(out)])
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1 and err.startswith("net-inspector: "), err
    assert ". " not in err.rstrip("."), err
    assert not out.exists()
    assert grown_mib < 400  # the bomb is read no further than MNIST could be
    assert not torch.are_deterministic_algorithms_enabled()  # the caller's setting is back


def test_a_good_folder_still_loads(tmp_path):
    from inspector.core.training.mnist import load_split

    folder = _folder(tmp_path / "ok", gz=True)
    images, labels = load_split(folder, "train")
    assert images.shape == (4, 28, 28) and labels.tolist() == [3, 3, 3, 3]
