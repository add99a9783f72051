import json
import struct

import pytest
import torch

from segmenter_torch import safetensors_io as st


def raw_file(path, header, data=b"", pad=True):
    text = json.dumps(header).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return str(path)


def test_round_trip_keeps_names_order_dtypes_values_and_metadata(tmp_path):
    tensors = [
        ("w", torch.randn(3, 4)),
        ("h", torch.randn(5).half()),
        ("b", torch.randn(2, 2).bfloat16()),
        ("i", torch.arange(6, dtype=torch.int64).reshape(2, 3)),
        ("u", torch.tensor([0, 255], dtype=torch.uint8)),
        ("flag", torch.tensor([True, False])),
        ("empty", torch.zeros(0, 3)),
        ("d", torch.randn(2, dtype=torch.float64)),
    ]
    path = str(tmp_path / "x.safetensors")
    st.write(path, tensors, {"format": "segmenter-dsl/2", "note": "é"})
    read, metadata = st.read(path)
    assert list(read) == [n for n, _ in tensors]
    for name, tensor in tensors:
        assert read[name].dtype == tensor.dtype and read[name].shape == tensor.shape
        assert torch.equal(read[name], tensor)
    assert metadata == {"format": "segmenter-dsl/2", "note": "é"}
    blob = open(path, "rb").read()
    (length,) = struct.unpack("<Q", blob[:8])
    assert length % 8 == 0   # header padded to 8 bytes as the reference writer does
    assert st.looks_like_safetensors(path)


def test_written_bytes_are_little_endian_in_offset_order(tmp_path):
    path = str(tmp_path / "x.safetensors")
    st.write(path, [("a", torch.tensor([1.0], dtype=torch.float32)), ("b", torch.tensor([2], dtype=torch.int16))])
    blob = open(path, "rb").read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    assert header["a"] == {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    assert header["b"] == {"dtype": "I16", "shape": [1], "data_offsets": [4, 6]}
    assert blob[8 + length:] == struct.pack("<f", 1.0) + struct.pack("<h", 2)


def test_writer_refuses_duplicate_names(tmp_path):
    with pytest.raises(st.SafeTensorsError, match="two tensors are named 'a'"):
        st.write(str(tmp_path / "x.safetensors"), [("a", torch.zeros(1)), ("a", torch.zeros(1))])
    assert not (tmp_path / "x.safetensors").exists()


def test_reader_refuses_duplicate_names(tmp_path):
    text = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
    path = tmp_path / "dup.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(8))
    with pytest.raises(st.SafeTensorsError, match="names 'a' twice"):
        st.read(str(path))


@pytest.mark.parametrize("header,data,message", [
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8), "overlaps"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8), "gap"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(8), "after the last tensor"),
    ({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(8), "outside"),
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8), "needs 12 bytes"),
    ({"a": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, bytes(4), "not supported"),
    ({"__metadata__": {"k": 1}}, b"", "object of strings"),
    ({"__metadata__": None}, b"", "object of strings"),
    ({"__metadata__": []}, b"", "object of strings"),
    ({"__metadata__": 0}, b"", "object of strings"),
    ({"__metadata__": {"k": None}}, b"", "object of strings"),
    ({"a": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, bytes(4), "'a' has dtype"),
    ({"a": {"dtype": {"F32": 1}, "shape": [1], "data_offsets": [0, 4]}}, bytes(4), "'a' has dtype"),
    ({"a": {"dtype": None, "shape": [1], "data_offsets": [0, 4]}}, bytes(4), "'a' has dtype"),
    ({"a": {"dtype": "F32", "shape": [0, 2 ** 63], "data_offsets": [0, 0]}}, b"", "'a' needs a 'shape'"),
    ({"a": {"dtype": "F32", "shape": [0, 2 ** 62, 4], "data_offsets": [0, 0]}}, b"", "'a' needs a 'shape'"),
    ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, b"", "'a' needs a 'shape'"),
    ({"a": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, bytes(4), "'a' needs a 'shape'"),
    ({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, bytes(4), "'a' needs a 'shape'"),
    ({"a": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}}, bytes(4), "'a' needs a 'shape'"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4]}}, bytes(4), "'a' has data offsets"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 2 ** 70]}}, bytes(4), "'a' has data offsets"),
    ({"a": [1, 2]}, b"", "'a' is not described"),
])
def test_reader_refuses_invalid_layouts(tmp_path, header, data, message):
    path = raw_file(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(st.SafeTensorsError, match=message) as error:
        st.read(path)
    assert "bad.safetensors" in str(error.value)


def test_reader_accepts_a_file_without_metadata(tmp_path):
    path = raw_file(tmp_path / "plain.safetensors", {"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x02")
    tensors, metadata = st.read(path)
    assert metadata == {} and tensors["a"].tolist() == [1, 2]


def _fuzz_cases(rng, blob, header):
    """Byte-level mutations of a valid file, then structural edits of its header (seeded: the same cases every run)."""
    for _ in range(2500):
        mutated = bytearray(blob)
        for _ in range(rng.randint(1, 4)):
            kind = rng.random()
            position = rng.randrange(len(mutated))
            if kind < 0.5:
                mutated[position] = rng.randrange(256)
            elif kind < 0.75:
                del mutated[position:position + rng.randint(1, 8)]
            else:
                mutated[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        yield bytes(mutated)
    odd_values = [None, True, -1, 0, 1, 3, 2 ** 31, 2 ** 63, 2 ** 64, -2 ** 63, 1.5, 1e308, "F32", "", [], [0], [[1]], {}, {"a": 1},
                  [0, 2 ** 63], [2 ** 62, 2 ** 62], [4, 0], [-4, 4], ["F32"]]
    for _ in range(1500):
        edited = json.loads(json.dumps(header))
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(list(edited))
            if name == "__metadata__" or not isinstance(edited[name], dict) or rng.random() < 0.1:
                edited[name] = rng.choice(odd_values)
            else:
                edited[name][rng.choice(["dtype", "shape", "data_offsets", "extra"])] = rng.choice(odd_values)
        text = json.dumps(edited).encode()
        yield struct.pack("<Q", len(text)) + text + blob[8 + struct.unpack("<Q", blob[:8])[0]:]


def test_fuzzed_files_are_read_exactly_or_refused_with_safetensorserror(tmp_path):
    """Random damage to a valid file never escapes as another exception: the reader either returns tensors
    whose byte sizes tile the data exactly or raises SafeTensorsError naming the file."""
    import random
    import time
    path = tmp_path / "ok.safetensors"
    st.write(str(path), [("w", torch.arange(6, dtype=torch.float32).reshape(2, 3)), ("b", torch.tensor([1, 2], dtype=torch.int16)),
                         ("e", torch.zeros(0, 2))], {"format": "segmenter-dsl/2"})
    blob = path.read_bytes()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    started, accepted, refused = time.time(), 0, 0
    for case in _fuzz_cases(random.Random(1234), blob, header):
        path.write_bytes(case)
        try:
            tensors, metadata = st.read(str(path))
        except st.SafeTensorsError as error:
            assert "ok.safetensors" in str(error)
            refused += 1
            continue
        (n,) = struct.unpack("<Q", case[:8])
        data_size = len(case) - 8 - n
        assert sum(t.numel() * t.element_size() for t in tensors.values()) == data_size
        assert all(isinstance(v, str) for v in metadata.values())
        accepted += 1
    assert refused > 0 and time.time() - started < 30


def test_reader_refuses_truncated_and_foreign_files(tmp_path):
    good = str(tmp_path / "good.safetensors")
    st.write(good, [("a", torch.randn(10))])
    blob = open(good, "rb").read()
    (tmp_path / "cut.safetensors").write_bytes(blob[:-4])
    with pytest.raises(st.SafeTensorsError, match="truncated"):
        st.read(str(tmp_path / "cut.safetensors"))
    (tmp_path / "short").write_bytes(b"abc")
    with pytest.raises(st.SafeTensorsError, match="shorter"):
        st.read(str(tmp_path / "short"))
    (tmp_path / "huge").write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    with pytest.raises(st.SafeTensorsError, match="header length"):
        st.read(str(tmp_path / "huge"))
    (tmp_path / "notjson").write_bytes(struct.pack("<Q", 4) + b"{abc")
    with pytest.raises(st.SafeTensorsError, match="not valid JSON"):
        st.read(str(tmp_path / "notjson"))


def test_write_is_atomic_a_failed_write_keeps_the_old_file(tmp_path):
    from segmenter_torch.atomic import write_atomically
    path = str(tmp_path / "x.safetensors")
    st.write(path, [("a", torch.ones(2))])

    def half_then_fail(stream):
        stream.write(b"partial bytes")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, half_then_fail)
    with pytest.raises(st.SafeTensorsError):
        st.write(path, [("a", torch.ones(2)), ("b", torch.ones(2, dtype=torch.complex64))])
    tensors, _ = st.read(path)
    assert torch.equal(tensors["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["x.safetensors"]   # no temporary file left behind


def test_written_files_have_the_mode_a_plain_open_gives(tmp_path):
    import os
    from segmenter_torch.atomic import write_text_atomically
    previous = os.umask(0o027)
    try:
        st.write(str(tmp_path / "x.safetensors"), [("a", torch.ones(2))])
        write_text_atomically(str(tmp_path / "config.json"), "{}")
        with open(tmp_path / "plain", "w"):
            pass
    finally:
        os.umask(previous)
    expected = os.stat(tmp_path / "plain").st_mode & 0o777
    assert expected == 0o640
    assert os.stat(tmp_path / "x.safetensors").st_mode & 0o777 == expected
    assert os.stat(tmp_path / "config.json").st_mode & 0o777 == expected
