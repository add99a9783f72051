"""JPEGs whose scan data ends before the image their header claims are refused (libjpeg invents the rest, and Pillow drops
its warning); whole JPEGs of every kind Pillow writes are read as before. The .NET engine's JpegScanTests check the same."""
import io
import os

import numpy as np
import pytest
from PIL import Image

from segmenter_torch.data import DatasetError, jpeg_probe_position, read_rgb

MESSAGE = "the JPEG's image data ends before the {} pixels its header claims (a truncated or damaged file; the decoder would invent the rest)"

KINDS = {
    "baseline": {},
    "optimized": {"optimize": True},
    "progressive": {"progressive": True, "optimize": True},
    "4:4:4": {"subsampling": 0},
    "grey": {},
}


def jpeg(kind: str, width: int = 72, height: int = 40, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = (np.stack([x * 3, y * 5, (x + y) * 2], 2) % 256 + rng.integers(0, 40, (height, width, 3))).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(pixels[:, :, 0] if kind == "grey" else pixels)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **KINDS[kind])
    return out.getvalue()


def last_scan_start(data: bytes) -> int:
    sos = data.rfind(b"\xff\xda")
    return sos + 2 + (data[sos + 2] << 8 | data[sos + 3])


def cut(data: bytes, fraction: float) -> bytes:
    start, end = last_scan_start(data), jpeg_probe_position(data)
    return data[:start + int((end - start) * fraction)] + b"\xff\xd9"


def taller(data: bytes, factor: int) -> bytes:
    copy = bytearray(data)
    sof = min(i for i in (data.find(b"\xff\xc0"), data.find(b"\xff\xc1"), data.find(b"\xff\xc2")) if i >= 0)
    height = (copy[sof + 5] << 8 | copy[sof + 6]) * factor
    copy[sof + 5:sof + 7] = height.to_bytes(2, "big")
    return bytes(copy)


def write(tmp_path, name: str, data: bytes) -> str:
    path = str(tmp_path / name)
    with open(path, "wb") as stream:
        stream.write(data)
    return path


@pytest.mark.parametrize("kind", list(KINDS))
def test_whole_jpegs_are_read_as_pillow_decodes_them(tmp_path, kind):
    data = jpeg(kind)
    path = write(tmp_path, f"{kind}.jpg", data)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(read_rgb(path), expected)
    assert np.array_equal(read_rgb(path), expected)   # the second read, from the file found whole


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("fraction", [0.5, 0.97])
def test_a_jpeg_cut_in_its_scan_data_and_closed_again_is_refused(tmp_path, kind, fraction):
    damaged = cut(jpeg(kind, seed=2), fraction)
    np.asarray(Image.open(io.BytesIO(damaged)).convert("RGB"))   # Pillow alone decodes it without a word
    path = write(tmp_path, "cut.jpg", damaged)
    with pytest.raises(DatasetError) as error:
        read_rgb(path)
    assert str(error.value) == f"{path}: " + MESSAGE.format("72×40")


@pytest.mark.parametrize("kind", ["baseline", "grey"])
def test_every_cut_in_a_scan_is_refused(tmp_path, kind):
    data = jpeg(kind, 48, 32, seed=5)
    start, end = last_scan_start(data), jpeg_probe_position(data)
    assert end - start > 500
    passed = []
    for at in range(start, end, 5):
        path = write(tmp_path, f"{at}.jpg", data[:at] + b"\xff\xd9")
        try:
            read_rgb(path)
            passed.append(at)
        except DatasetError as error:
            assert "ends before the 48×32 pixels" in str(error)
    assert passed == []


@pytest.mark.parametrize("kind", ["baseline", "progressive"])
def test_a_jpeg_whose_header_claims_more_rows_than_its_data_is_refused(tmp_path, kind):
    path = write(tmp_path, "taller.jpg", taller(jpeg(kind, seed=3), 2))
    with pytest.raises(DatasetError, match="ends before the 72×80 pixels its header claims"):
        read_rgb(path)


def test_an_mpo_is_read_and_one_claiming_more_rows_is_refused(tmp_path):
    """A camera's MPO file (Pillow's format "MPO": a JPEG with more images after its end marker): its first image is checked."""
    frames = [Image.open(io.BytesIO(jpeg("baseline", seed=seed))) for seed in (5, 6)]
    out = io.BytesIO()
    frames[0].save(out, "MPO", save_all=True, append_images=frames[1:], quality=90)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert read_rgb(write(tmp_path, "camera.jpg", data)).shape == (40, 72, 3)
    with pytest.raises(DatasetError, match="ends before the 72×80 pixels its header claims"):
        read_rgb(write(tmp_path, "taller.jpg", taller(data, 2)))


def test_a_file_replaced_by_a_damaged_one_is_checked_again(tmp_path):
    data = jpeg("baseline", seed=4)
    path = write(tmp_path, "changing.jpg", data)
    read_rgb(path)
    write(tmp_path, "changing.jpg", cut(data, 0.6))
    with pytest.raises(DatasetError):
        read_rgb(path)


def test_the_scan_ends_at_the_first_marker_that_is_not_a_restart_or_a_stuffed_byte():
    data = bytes([
        0xFF, 0xD8,                                    # SOI
        0xFF, 0xE0, 0x00, 0x04, 0xFF, 0xDA,            # APP0 whose content looks like a marker
        0xFF, 0xDA, 0x00, 0x03, 0x00,                  # SOS (its header cut short of a real one's, which the walk does not read)
        0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56,      # entropy data: a stuffed 0xFF, a restart marker
        0xFF, 0xFF, 0xD9,                              # a fill byte, then EOI
        0x99,
    ])
    assert jpeg_probe_position(data) == 20
    assert jpeg_probe_position(data[:20]) == 20        # no end marker: the data's end
    assert jpeg_probe_position(data[:8]) is None       # no scan
    assert jpeg_probe_position(b"\x89PNG") is None
    # An arithmetic-coded frame (SOF9) before the scan: its decoder reads zeros at the next marker, so it is not probed.
    assert jpeg_probe_position(data[:2] + bytes([0xFF, 0xC9, 0x00, 0x03, 0x08]) + data[2:]) is None


def test_the_probe_is_the_dotnet_engines_bytes():
    from segmenter_torch.data import _JPEG_NOISE
    assert len(_JPEG_NOISE) == 512 and 0xFF not in _JPEG_NOISE
    # JpegScan.MakeNoise's first bytes (C#), so that both engines probe with the same data.
    assert _JPEG_NOISE[:8].hex() == FIRST_BYTES


FIRST_BYTES = "e9a2829988ceeee8"
