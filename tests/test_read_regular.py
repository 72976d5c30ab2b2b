"""An index's files are read whole, only from regular files (rag.index.generations.read_regular)."""

from __future__ import annotations

import os

import pytest

from rag.index import generations
from rag.index.generations import read_regular


@pytest.mark.unit
@pytest.mark.parametrize("limit", [1 << 30, 7])  # one read, and many pieces joined
def test_a_regular_file_is_read_whole(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(generations, "READ_LIMIT", limit)
    for size in (0, 1, 7, 100, 70_001):
        path = tmp_path / f"f{size}"
        data = os.urandom(size)
        path.write_bytes(data)
        assert read_regular(path) == data


@pytest.mark.unit
def test_a_fifo_and_a_link_are_refused_before_a_byte_is_read(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError):
        read_regular(fifo)
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(OSError):
        read_regular(tmp_path / "link")


@pytest.mark.unit
def test_npy_files_read_in_place_equal_numpys_and_refuse_objects_and_short_data():
    import io

    import numpy as np

    from rag.index.token_store import npy_view

    def npy(array, **kwargs) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, array, **kwargs)
        return buffer.getvalue()

    rng = np.random.default_rng(3)
    for array in (
        rng.integers(0, 255, (50, 64), dtype=np.uint8),
        rng.standard_normal((7, 3)).astype(np.float16),
        np.asfortranarray(rng.standard_normal((4, 5))),
        np.zeros((0, 768), np.float16),
        np.arange(10, dtype=np.int64),
    ):
        got = npy_view(npy(array))
        assert got.dtype == array.dtype and got.shape == array.shape and np.array_equal(got, array)
        assert not got.flags.writeable  # shared with the file's bytes: nobody may change them
    with pytest.raises(ValueError):
        npy_view(npy(np.array([{"a": 1}], dtype=object), allow_pickle=True))
    with pytest.raises(ValueError):
        npy_view(npy(np.arange(100, dtype=np.int64))[:-8])
    with pytest.raises(ValueError):
        npy_view(b"not an npy file at all")
