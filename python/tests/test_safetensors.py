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
])
def test_reader_refuses_invalid_layouts(tmp_path, header, data, message):
    path = raw_file(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(st.SafeTensorsError, match=message) as error:
        st.read(path)
    assert "bad.safetensors" in str(error.value)


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
