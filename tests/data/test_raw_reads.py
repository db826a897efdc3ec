"""`RawSlices`: slices read as raw bytes (copies and views of the mapped file) equal h5py's, for
every dataset it reads raw; datasets stored otherwise (chunked, compressed, compact, big-endian,
unwritten) or in a file opened with another driver go through h5py; out-of-range slices are
refused."""
import h5py
import numpy as np
import pytest

from meshsim.data.checksums import digest
from meshsim.data.raw_reads import RawSlices


@pytest.fixture()
def store(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f["rows"] = rng.standard_normal((50, 3))
        f["ints"] = rng.integers(0, 9, (2, 40))
        f["flags"] = rng.random(30) > 0.5
        f.create_dataset("chunked", data=rng.standard_normal((50, 3)), chunks=(7, 3))
        f.create_dataset("gzip", data=rng.standard_normal((50, 3)), compression="gzip")
        f["big_endian"] = np.arange(20, dtype=">f8")
        f.create_dataset("unwritten", shape=(20,), dtype="f8", fillvalue=2.5)
        layout = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        layout.set_layout(h5py.h5d.COMPACT)
        h5py.h5d.create(f.id, b"compact", h5py.h5t.NATIVE_INT64, h5py.h5s.create_simple((6,)), dcpl=layout)
    return path


def _slices(f):
    return RawSlices(f, {name: f[name] for name in f})


def test_raw_slices_equal_h5py_slices_copies_and_views(store):
    with h5py.File(store, "r") as f:
        raw = _slices(f)
        assert raw.raw_names == ["flags", "ints", "rows"]
        for name in f:
            whole = f[name][()]
            if whole.ndim == 1 or name != "ints":
                for lo, hi in [(0, 0), (3, 17), (0, len(whole))]:
                    for view in (False, True):
                        part = raw.rows(name, lo, hi, view)
                        assert part.dtype == whole.dtype and np.array_equal(part, whole[lo:hi]), (name, lo, hi)
            else:
                for view in (False, True):
                    assert np.array_equal(raw.columns(name, 5, 31, view), whole[:, 5:31])
        copy, view = raw.rows("rows", 2, 9), raw.rows("rows", 2, 9, view=True)
        copy[0, 0] = 99.0  # a copy is the caller's own
        assert not view.flags.writeable and view[0, 0] == f["rows"][2, 0]
        with pytest.raises(ValueError, match="rows 40:51 outside 'rows' of 50 rows"):
            raw.rows("rows", 40, 51)
        with pytest.raises(ValueError, match="columns 30:41 outside 'ints' of 40 columns"):
            raw.columns("ints", 30, 41, view=True)
        raw.close()
        assert np.array_equal(view, f["rows"][2:9])  # views outlive the reader


def test_a_file_opened_with_another_driver_is_read_through_h5py(store):
    with h5py.File(store, "r", driver="core") as f:
        raw = _slices(f)
        assert raw.raw_names == []
        assert np.array_equal(raw.rows("rows", 3, 8, view=True), f["rows"][3:8])
        assert np.array_equal(raw.columns("ints", 3, 8), f["ints"][:, 3:8])


def test_digest_of_a_column_range_view_equals_the_digest_of_its_copy():
    array = np.arange(2 * 1000, dtype=np.int64).reshape(2, 1000)
    part = array[:, 123:777]
    assert not part.flags.c_contiguous
    assert digest(part) == digest(np.ascontiguousarray(part)) == digest(part.copy())
    part_copy = part.copy()
    part_copy[1, 5] += 1
    assert digest(part_copy) != digest(part)


def test_an_open_shard_keeps_no_dataset_open(toy_module, tmp_path):
    """A shard whose per-sample datasets are all read raw holds no h5py dataset open after opening
    (open h5py objects make closing any file slow when many shards are open)."""
    from meshsim.data import ShardReader, generate

    generate(toy_module(train=3, valid=0, per_shard=3), tmp_path / "toy", progress=False)
    with ShardReader(tmp_path / "toy" / "shard-00000.h5") as reader:
        reader.sample(1)
        reader.samples(0, 3, views=True)
        assert h5py.h5f.get_obj_count(reader._file.id, h5py.h5f.OBJ_DATASET) == 0
        assert len(reader.failures) == 0 and reader.field(reader.field_names[0]).shape[0] > 0
