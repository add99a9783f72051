"""A reader and writer of the safetensors format, written for this project (no external package).

The format: an 8-byte little-endian header length N; N bytes of a JSON object
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``;
then the raw little-endian bytes of the tensors. Offsets are relative to the start of the data, and
the tensors must tile the data exactly (no gaps, no overlaps, no trailing bytes). The reader checks
all of this and names the file in every error; the writer pads the header with spaces to 8 bytes
(as the reference writer and the .NET one do) and writes atomically.
"""

import json
import struct
import sys
from typing import Dict, Iterable, Mapping, Optional, Tuple

import torch

from .atomic import write_atomically

MAX_HEADER_BYTES = 100 << 20
MAX_ELEMENTS = 1 << 63   # no dimension, and no product of dimensions, may reach this (torch's int64 sizes)

_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}


class SafeTensorsError(ValueError):
    """A file that is not valid safetensors, or tensors that cannot be written as safetensors."""


def _element_size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def _reject_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise SafeTensorsError(f"the header names '{key}' twice")
        seen[key] = value
    return seen


def read(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Reads ``path``: returns (tensors by name, in file order; metadata). Raises SafeTensorsError naming the file."""
    try:
        with open(path, "rb") as stream:
            blob = stream.read()
    except FileNotFoundError:
        raise SafeTensorsError(f"{path}: file not found") from None
    except OSError as error:
        raise SafeTensorsError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return parse(blob)
    except SafeTensorsError as error:
        raise SafeTensorsError(f"{path}: {error}") from None


def read_metadata(path: str) -> Dict[str, str]:
    """The ``__metadata__`` strings of ``path``, from its header alone (the tensors' data is neither read nor checked)."""
    try:
        with open(path, "rb") as stream:
            start = stream.read(8)
            size = stream.seek(0, 2)
            stream.seek(8)
            try:
                text = stream.read(_header_length(start, size))
                return _header(text)[1]
            except SafeTensorsError as error:
                raise SafeTensorsError(f"{path}: {error}") from None
    except FileNotFoundError:
        raise SafeTensorsError(f"{path}: file not found") from None
    except OSError as error:
        raise SafeTensorsError(f"{path}: cannot be read ({error.strerror})") from None


def _header_length(start: bytes, size: int) -> int:
    """The header length from a file's first 8 bytes, checked against the file's size."""
    if len(start) < 8:
        raise SafeTensorsError(f"not a safetensors file ({size} bytes, shorter than the 8-byte header length)")
    (length,) = struct.unpack("<Q", start[:8])
    if length < 2 or length > MAX_HEADER_BYTES or length > size - 8:
        raise SafeTensorsError(f"not a safetensors file (header length {length} for a file of {size} bytes)")
    return length


def _header(text: bytes) -> Tuple[dict, Dict[str, str]]:
    """The header's tensor entries and its metadata (checked to be strings)."""
    try:
        header = json.loads(text.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except SafeTensorsError as error:
        raise SafeTensorsError(f"invalid header: {error}") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise SafeTensorsError(f"the header is not valid JSON ({error})") from None
    except RecursionError:
        raise SafeTensorsError("the header is not valid JSON (nested too deeply)") from None
    if not isinstance(header, dict):
        raise SafeTensorsError("the header is not a JSON object")

    # The metadata is optional, but when present it must be an object of strings (null, [] or 0 are not "absent").
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict):
        raise SafeTensorsError(f"'__metadata__' must be an object of strings, not {type(metadata).__name__} {metadata!r:.40}")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise SafeTensorsError(f"'__metadata__' must be an object of strings; '{key}' holds a {type(value).__name__}")
    return header, dict(metadata)


def parse(blob: bytes) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Parses the bytes of a safetensors file (errors without a file name; see ``read``)."""
    length = _header_length(blob, len(blob))
    header, metadata = _header(blob[8:8 + length])

    data = memoryview(blob)[8 + length:]
    entries = []
    for name, entry in header.items():
        if not isinstance(entry, dict):
            raise SafeTensorsError(f"tensor '{name}' is not described by an object")
        dtype_name, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype_name, str) or dtype_name not in _DTYPES:   # a list or an object is not hashable: test the type first
            raise SafeTensorsError(f"tensor '{name}' has dtype {dtype_name!r:.40}, which is not supported ({', '.join(_DTYPES)})")
        if not _valid_shape(shape):
            raise SafeTensorsError(f"tensor '{name}' needs a 'shape' of integers from 0 to 2**63 - 1 (with a product below 2**63), not {shape!r:.80}")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                or offsets[0] < 0 or offsets[1] < offsets[0] or offsets[1] > len(data)):
            raise SafeTensorsError(f"tensor '{name}' has data offsets {offsets!r} outside the {len(data)} bytes of data (truncated file?)")
        dtype = _DTYPES[dtype_name]
        count = 1
        for d in shape:
            count *= d
        expected = count * _element_size(dtype)
        if offsets[1] - offsets[0] != expected:
            raise SafeTensorsError(f"tensor '{name}' of shape {shape} and dtype {dtype_name} needs {expected} bytes but its offsets give {offsets[1] - offsets[0]}")
        entries.append((name, dtype, shape, offsets[0], offsets[1]))

    # The tensors must tile the data: sorted by offset, each starts where the previous ended.
    position = 0
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin != position:
            what = "overlaps the previous tensor" if begin < position else f"leaves a gap of {begin - position} bytes before it"
            raise SafeTensorsError(f"tensor '{name}' at data offsets [{begin}, {end}] {what}")
        position = end
    if position != len(data):
        last = max(entries, key=lambda e: (e[4], e[3]))[0] if entries else None
        after = f"the last tensor ('{last}')" if last is not None else "the header (no tensors)"
        raise SafeTensorsError(f"{len(data) - position} bytes of data after {after} (the tensors must cover the data exactly)")

    tensors = {}
    for name, dtype, shape, begin, end in entries:
        try:
            tensors[name] = _tensor(data[begin:end], dtype, shape)
        except (RuntimeError, ValueError, OverflowError) as error:   # the checks above should leave none: a last guard
            raise SafeTensorsError(f"tensor '{name}' of shape {shape} and dtype {_NAMES[dtype]} cannot be built ({error})") from None
    return tensors, dict(metadata)


def _tensor(raw: memoryview, dtype: torch.dtype, shape) -> torch.Tensor:
    """A tensor owning a private, writable copy of ``raw`` (little-endian bytes)."""
    if len(raw) == 0:
        return torch.empty(shape, dtype=dtype)
    copy = bytearray(raw)
    tensor = torch.frombuffer(copy, dtype=dtype) if hasattr(torch, "frombuffer") else torch.tensor(list(copy), dtype=torch.uint8).view(dtype)
    if sys.byteorder != "little" and _element_size(dtype) > 1:
        tensor = _byteswapped(tensor)
    return tensor.reshape(shape)


def _valid_shape(shape) -> bool:
    """A list of non-negative integers (not booleans) each below 2**63, whose product (zeros counted as one) is too."""
    if not isinstance(shape, list):
        return False
    product = 1
    for d in shape:
        if not isinstance(d, int) or isinstance(d, bool) or d < 0 or d >= MAX_ELEMENTS:
            return False
        product *= max(d, 1)
        if product >= MAX_ELEMENTS:
            return False
    return True


def _byteswapped(tensor: torch.Tensor) -> torch.Tensor:
    size = tensor.element_size()
    as_bytes = tensor.contiguous().view(torch.uint8).reshape(-1, size).flip(1).reshape(-1)
    return as_bytes.view(tensor.dtype)


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    tensor = tensor.detach().cpu().contiguous()
    if tensor.numel() == 0:
        return b""
    if sys.byteorder != "little" and tensor.element_size() > 1:
        tensor = _byteswapped(tensor)
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)   # numpy has no bfloat16; the bytes are the same
    return tensor.numpy().tobytes()


def serialize(tensors: Iterable[Tuple[str, torch.Tensor]], metadata: Optional[Mapping[str, str]] = None):
    """The header bytes and the list of tensors (in order) for ``tensors``; raises SafeTensorsError on duplicates or bad types."""
    header = {}
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise SafeTensorsError(f"metadata must map strings to strings; '{key}' holds a {type(value).__name__}")
        header["__metadata__"] = dict(metadata)
    ordered = []
    offset = 0
    for name, tensor in tensors:
        if name == "__metadata__" or name in header:
            raise SafeTensorsError(f"two tensors are named '{name}'; safetensors names must be unique")
        if tensor.dtype not in _NAMES:
            raise SafeTensorsError(f"tensor '{name}' has dtype {tensor.dtype}, which safetensors cannot hold")
        size = tensor.numel() * tensor.element_size()
        header[name] = {"dtype": _NAMES[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + size]}
        offset += size
        ordered.append(tensor)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text, ordered


def write(path: str, tensors: Iterable[Tuple[str, torch.Tensor]], metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes ``tensors`` (name, tensor pairs, any device) with string ``metadata`` to ``path`` atomically."""
    header, ordered = serialize(tensors, metadata)

    def emit(stream):
        stream.write(header)
        for tensor in ordered:
            stream.write(_tensor_bytes(tensor))

    write_atomically(path, emit)


def looks_like_safetensors(path: str) -> bool:
    """True if the file starts as a safetensors file does (a plausible header length, then '{')."""
    try:
        with open(path, "rb") as stream:
            start = stream.read(9)
            stream.seek(0, 2)
            size = stream.tell()
    except OSError:
        return False
    if len(start) < 9:
        return False
    (length,) = struct.unpack("<Q", start[:8])
    return 1 < length <= MAX_HEADER_BYTES and size >= 8 + length and start[8:9] == b"{"
