import gzip
from pathlib import Path

import numpy as np
import pytest

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
