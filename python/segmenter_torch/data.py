"""Datasets in the layouts the .NET reader opens (DatasetReader.cs): ade20k, cityscapes, pascal-context, folder.

Samples are decoded and validated as they are loaded, and every error names the file: an image
without its label, an unreadable file, image and label of different sizes, a label value that is not
a class. Label PNGs may be 8-bit greyscale or palette images; a palette file gives its indices, not
its colours (Pillow's mode "P"); other label images are refused rather than guessed.
"""

import io
import os
import stat
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import numpy as np
from PIL import Image

from . import UserError

IGNORE = 255
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
LAYOUTS = ("ade20k", "cityscapes", "pascal-context", "folder")
PRESET_CLASSES = {"ade20k": 150, "cityscapes": 19, "pascal-context": 60}


class DatasetError(UserError):
    """A sample that cannot be used: which file, and why."""


def parse_layout(name: str) -> str:
    """ade20k, cityscapes, pascal-context or folder (and the aliases the .NET CLI takes)."""
    key = name.strip().lower().replace("_", "-")
    aliases = {"ade20k": "ade20k", "ade": "ade20k", "cityscapes": "cityscapes", "pascal-context": "pascal-context",
               "pascalcontext": "pascal-context", "pascal": "pascal-context", "folder": "folder", "custom": "folder"}
    if key not in aliases:
        raise UserError(f"unknown dataset layout '{name}': use ade20k, cityscapes, pascal-context or folder")
    return aliases[key]


# The most pixels an image or label may claim (ImageFiles.MaximumPixels in C#): refused from the header, before decoding.
MAXIMUM_PIXELS = 100_000_000

# The image formats read, as the .NET engine's ImageFiles reads them (Pillow's names; MPO is a camera's JPEG). Pillow opens
# more (TIFF, PPM, TGA, ...), which the .NET engine would refuse: a dataset must read the same in both engines.
FORMATS = ("PNG", "JPEG", "MPO", "BMP", "WEBP", "GIF")
FORMAT_NAMES = "PNG, JPEG, BMP, WebP or GIF"

# Pillow's modes for a 16-bit greyscale PNG, read as the .NET engine reads it: the high byte of each value.
SIXTEEN_BIT_GREY = ("I;16", "I;16B", "I;16L", "I")


def _open_image(source, path: Optional[str] = None):
    """Image.open of ``source`` (the file ``path``, or its bytes), its claimed size checked against MAXIMUM_PIXELS before
    anything is decoded (in place of Pillow's own decompression-bomb warning, which would print beside the error)."""
    path = source if path is None else path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(source)
    width, height = image.size
    if image.format not in FORMATS:
        image.close()
        raise DatasetError(f"{path}: not a {FORMAT_NAMES} image (its data reads as {image.format})")
    if width < 1 or height < 1 or width * height > MAXIMUM_PIXELS:
        image.close()
        raise DatasetError(f"{path}: the image claims {width}×{height} pixels; at most {MAXIMUM_PIXELS:,} are accepted")
    return image


def _check_file(path: str, kind: str) -> None:
    """Refuses a path that names nothing (a link to nothing included), a folder, or what is not a regular file: a pipe
    would block the reader until another process wrote to it, and a device has no end."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DatasetError(f"{kind} file '{path}' does not exist") from None
    except OSError as error:
        raise DatasetError(f"{path}: unreadable ({error.strerror})") from None
    if stat.S_ISDIR(mode):
        raise DatasetError(f"{path}: a folder, not a file")
    if not stat.S_ISREG(mode):
        raise DatasetError(f"{path}: not a regular file (a pipe or a device)")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _verify_png(path: str) -> None:
    """Checks every chunk of a PNG file against its checksum and that the file ends with IEND (IndexedPng.Verify in C#):
    Pillow checks neither for the image data, so a changed byte would otherwise be a damaged pixel, not an error."""
    with open(path, "rb") as stream:
        data = stream.read()
    at = len(PNG_SIGNATURE)
    while True:
        if at + 8 > len(data):
            raise DatasetError(f"{path}: truncated PNG (no IEND chunk)")
        length, kind = struct.unpack(">I", data[at:at + 4])[0], data[at + 4:at + 8]
        name = "".join(chr(b) if 32 <= b <= 126 else "?" for b in kind)
        if at + 12 + length > len(data):
            raise DatasetError(f"{path}: truncated or corrupt PNG chunk '{name}'")
        if zlib.crc32(data[at + 4:at + 8 + length]) & 0xFFFFFFFF != struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0]:
            raise DatasetError(f"{path}: corrupt PNG: the checksum of chunk '{name}' does not match its data")
        at += 12 + length
        if kind == b"IEND":
            return


def _make_noise(length: int) -> bytes:
    """The probe's bytes: a fixed linear congruential sequence, 0xFF left out (JpegScan.Noise in C#, the same bytes)."""
    noise, state = bytearray(), 2463534242
    while len(noise) < length:
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        if state >> 24 != 0xFF:
            noise.append(state >> 24)
    return bytes(noise)


_JPEG_NOISE = _make_noise(512)
_WHOLE_JPEGS = set()


def _is_restart(marker: int) -> bool:
    return 0xD0 <= marker <= 0xD7


def jpeg_probe_position(data: bytes) -> Optional[int]:
    """The offset at which a JPEG's last scan's entropy-coded data ends (the marker after it, or the data's end), walking its
    marker segments from the start; None where no scan is reached, or the file is arithmetic-coded (JpegScan.ProbePosition
    in C#)."""
    if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    at, scan_end = 2, None
    while at + 1 < len(data):
        if data[at] != 0xFF:
            return scan_end
        while at + 1 < len(data) and data[at + 1] == 0xFF:    # fill bytes before a marker
            at += 1
        if at + 1 >= len(data):
            break
        marker = data[at + 1]
        if marker == 0xD9:                                    # EOI
            break
        if marker in (0x01, 0xD8) or _is_restart(marker):    # markers without a length
            at += 2
            continue
        if at + 4 > len(data):
            break
        end = at + 2 + (data[at + 2] << 8 | data[at + 3])
        if end < at + 4 or end > len(data):
            break
        if 0xC9 <= marker <= 0xCB or 0xCD <= marker <= 0xCF:
            return None                                       # arithmetic-coded (see JpegScan.IsArithmeticFrame): not probed
        if marker != 0xDA:
            at = end
            continue
        # SOS: its entropy-coded data runs to the first 0xFF that is neither a stuffed 0xFF 0x00 nor a restart marker.
        p = data.find(b"\xff", end)
        while p >= 0 and (p + 1 >= len(data) or data[p + 1] == 0 or _is_restart(data[p + 1])):
            p = data.find(b"\xff", p + 1)
        scan_end = at = len(data) if p < 0 else p
    return scan_end


def _decode_jpeg(path: str, decode: Callable):
    """``decode`` of the JPEG file ``path``, refused if its scan data ends before the image its header claims, which libjpeg
    decodes with invented blocks and a warning Pillow drops: the file is decoded again with bytes of noise after its last
    scan's data, which a decoder that finished the image skips and one that ran out reads as more blocks (JpegScan.Verify
    in C#). Both decodes are of the bytes read once; a version of the file found whole is not probed again."""
    status = os.stat(path)
    key = (os.path.abspath(path), status.st_size, status.st_mtime_ns)
    if key in _WHOLE_JPEGS:
        with _open_image(path) as image:
            return decode(image)
    with open(path, "rb") as stream:
        data = stream.read()
    with _open_image(io.BytesIO(data), path) as image:
        decoded = decode(image)
        size = image.size
    at = jpeg_probe_position(data)
    if at is not None:
        try:
            with _open_image(io.BytesIO(data[:at] + _JPEG_NOISE + data[at:]), path) as probed:
                again = decode(probed)
        except (OSError, ValueError, DatasetError):
            again = None                                      # no verdict
        if again is not None and not np.array_equal(decoded, again):
            raise DatasetError(f"{path}: the JPEG's image data ends before the {size[0]}×{size[1]} pixels its header claims "
                               "(a truncated or damaged file; the decoder would invent the rest)")
    _WHOLE_JPEGS.add(key)
    return decoded


def _read(path: str, kind: str, decode: Callable, verify: bool = True):
    """``decode`` of the opened image file ``path``, an "image" or a "label" file, a PNG's chunks verified first and a
    JPEG's scan data checked after unless ``verify`` is False (only its header is read); a DatasetError naming the file
    otherwise."""
    _check_file(path, kind)
    try:
        with _open_image(path) as image:
            jpeg = verify and image.format in ("JPEG", "MPO")   # MPO: a camera's JPEG, its first image decoded
            if not jpeg:
                if verify and image.format == "PNG":
                    _verify_png(path)
                return decode(image)
        return _decode_jpeg(path, decode)
    except FileNotFoundError:
        raise DatasetError(f"{kind} file '{path}' does not exist") from None
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise DatasetError(f"{path}: unreadable {'image' if kind == 'image' else 'label image'} ({error})") from None


def image_size(path: str, kind: str = "image") -> Tuple[int, int]:
    """An image or label file's (width, height) from its header, nothing decoded."""
    return _read(path, kind, lambda image: image.size, verify=False)


def read_rgb(path: str) -> np.ndarray:
    """An image file as uint8 [H, W, 3] RGB."""
    def decode(image) -> np.ndarray:
        if image.mode in SIXTEEN_BIT_GREY:
            grey = (np.asarray(image).astype(np.uint32) >> 8).clip(0, 255).astype(np.uint8)
            return np.repeat(grey[:, :, None], 3, axis=2)
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    return _read(path, "image", decode)


def _png_kind(path: str) -> Optional[Tuple[int, int]]:
    """A PNG's (bit depth, colour type) from its IHDR chunk, or None for a file that is not a PNG (ImageFiles.PngKind)."""
    with open(path, "rb") as stream:
        start = stream.read(26)
    if len(start) < 26 or start[:8] != PNG_SIGNATURE or start[12:16] != b"IHDR":
        return None
    return start[24], start[25]


def _describe(kind: Tuple[int, int]) -> str:
    depth, colour = kind
    names = {0: "greyscale", 2: "RGB colour", 3: "palette", 4: "greyscale with alpha", 6: "RGBA colour"}
    return f"{depth}-bit {names[colour]}" if colour in names else f"of PNG colour type {colour}"


def read_labels(path: str) -> np.ndarray:
    """A label image as uint8 [H, W]: an 8-bit grey image gives its values, a palette image its indices; others are refused."""
    def decode(image) -> np.ndarray:
        if image.format != "PNG":
            raise DatasetError(f"{path}: a label image must be a PNG (lossless), but this file holds {image.format or 'another format'} "
                               "data; lossy formats change class indices at edges")
        # Pillow scales 2- and 4-bit greyscale up to 8 bits (a 2-bit 3 reads as 255, the ignore value), so the header decides.
        kind = _png_kind(path)
        if kind is not None and kind[1] != 3 and kind != (8, 0):
            raise DatasetError(f"{path}: a label image must be an 8-bit greyscale or a palette (indexed) PNG, but this one is "
                               f"{_describe(kind)}; save the class indices as 8-bit greyscale")
        if image.mode not in ("L", "P"):
            raise DatasetError(f"{path}: a label image must be an 8-bit greyscale or a palette (indexed) PNG, but this one is mode "
                               f"'{image.mode}'; convert it to greyscale class indices")
        return np.asarray(image, dtype=np.uint8).copy()
    return _read(path, "label", decode)


@dataclass(frozen=True)
class Sample:
    image_path: str
    label_path: str


class SegmentationDataset:
    """A split: image/label pairs in a stable (sorted) order, the number of classes, and the stored-value → class table."""

    def __init__(self, layout: str, root: str, split: str, samples: List[Sample], num_classes: int,
                 class_names: Optional[List[str]], map_label: Callable[[int], int]):
        self.layout, self.root, self.split = layout, root, split
        self.samples = samples
        self.num_classes = num_classes
        self.class_names = class_names
        self.label_table = np.array([map_label(v) for v in range(256)], dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        """Image uint8 [H, W, 3] and labels uint8 [H, W] mapped to classes (255 ignored); DatasetError naming the file otherwise."""
        sample = self.samples[index]
        size, label_size = image_size(sample.image_path), image_size(sample.label_path, "label")   # before decoding either
        if size != label_size:
            raise DatasetError(f"{sample.label_path}: the labels are {label_size[0]}×{label_size[1]} but the image {sample.image_path} "
                               f"is {size[0]}×{size[1]}")
        image = read_rgb(sample.image_path)
        raw = read_labels(sample.label_path)
        labels = self.label_table[raw]
        bad = (labels != IGNORE) & (labels >= self.num_classes)
        if bad.any():
            y, x = (int(v[0]) for v in np.nonzero(bad))
            value, mapped = int(raw[y, x]), int(labels[y, x])
            meaning = "" if value == mapped else f" (class {mapped} in the {self.layout} layout's numbering)"
            raise DatasetError(f"{sample.label_path}: label value {value}{meaning} at pixel ({x}, {y}) is not one of the "
                               f"{self.num_classes} classes (0–{self.num_classes - 1}) or ignore (255)")
        return image, labels


def open_dataset(layout: str, root: str, split: str) -> SegmentationDataset:
    """Opens split ``split`` (train or val; the layout's own names also work) of the dataset at ``root``."""
    layout = parse_layout(layout)
    if not os.path.isdir(root):
        raise UserError(f"dataset folder '{root}' does not exist")
    opener = {"ade20k": _open_ade20k, "cityscapes": _open_cityscapes, "pascal-context": _open_pascal_context, "folder": _open_folder}[layout]
    dataset = opener(root, split)
    if len(dataset) == 0:
        expected = {
            "ade20k": "images/<split>/*.jpg with annotations/<split>/*.png of the same names (split: training or validation)",
            "cityscapes": f"leftImg8bit/{split}/<city>/*_leftImg8bit.png with gtFine/{split}/<city>/*_gtFine_labelTrainIds.png "
                          "(or *_gtFine_labelIds.png)",
            "pascal-context": f"ImageSets/SegmentationContext/{split}.txt naming JPEGImages/<id>.jpg with SegmentationClassContext/<id>.png",
            "folder": f"images/{split}/ (or images/) with image files and labels/{split}/ (or labels/) with PNGs of the same names",
        }[layout]
        raise DatasetError(f"{root}: no {split} samples found in the {layout} layout, which expects {expected}")
    return dataset


def _require_directory(path: str, what: str) -> None:
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: missing folder of {what}")


def _images_in(directory: str) -> List[str]:
    """The image files of a folder, sorted. A link that leads nowhere (dangling, or a loop) is listed too, so that reading it
    fails naming it, rather than the dataset silently shrinking; only folders are left out."""
    return sorted(os.path.join(directory, f) for f in os.listdir(directory)
                  if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS and not os.path.isdir(os.path.join(directory, f)))


def _pair(images: List[str], label_for: Callable[[str], str], alternative: Optional[str] = None) -> List[Sample]:
    samples = []
    image_of = {}
    for image in images:
        label = label_for(image)
        if not os.path.isfile(label):
            raise DatasetError(f"{image}: no label file (expected {label}{'' if alternative is None else ', ' + alternative})")
        if label in image_of:
            raise DatasetError(f"{image} and {image_of[label]} both pair with {label}: one image per name (keep one of the two), "
                               "or each would be trained and scored against the same label")
        image_of[label] = image
        samples.append(Sample(image, label))
    return samples


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _open_ade20k(root: str, split: str) -> SegmentationDataset:
    base = os.path.join(root, "ADEChallengeData2016")
    base = base if os.path.isdir(base) else root
    folder = {"train": "training", "training": "training", "val": "validation", "validation": "validation"}.get(split.lower(), split)
    images, annotations = os.path.join(base, "images", folder), os.path.join(base, "annotations", folder)
    _require_directory(images, f"ADE20K images (ADEChallengeData2016/images/{folder})")
    _require_directory(annotations, f"ADE20K annotations (ADEChallengeData2016/annotations/{folder})")
    samples = _pair(_images_in(images), lambda image: os.path.join(annotations, _stem(image) + ".png"))
    # Reduce zero label: 0 ("other") is ignored, every other label k becomes k − 1.
    return SegmentationDataset("ade20k", root, folder, samples, 150, None, lambda v: IGNORE if v == 0 else v - 1)


def _open_cityscapes(root: str, split: str) -> SegmentationDataset:
    images, labels = os.path.join(root, "leftImg8bit", split), os.path.join(root, "gtFine", split)
    _require_directory(images, f"Cityscapes images (leftImg8bit/{split})")
    _require_directory(labels, f"Cityscapes labels (gtFine/{split})")
    suffix = "_leftImg8bit.png"
    files = sorted(os.path.join(d, f) for d, _, names in os.walk(images) for f in names if f.endswith(suffix))

    def label_for(image: str, kind: str) -> str:
        relative = os.path.relpath(image, images)
        return os.path.join(labels, relative[:-len(suffix)] + f"_gtFine_{kind}.png")

    # The train ids (19 classes) as mmsegmentation's conversion writes them; failing those, the label ids of the
    # download itself (gtFine_trainvaltest.zip), mapped to train ids here.
    label_ids = (not all(os.path.isfile(label_for(f, "labelTrainIds")) for f in files)
                 and all(os.path.isfile(label_for(f, "labelIds")) for f in files))
    kind = "labelIds" if label_ids else "labelTrainIds"
    samples = _pair(files, lambda image: label_for(image, kind), "or a _gtFine_labelIds.png beside every image")
    return SegmentationDataset("cityscapes", root, split, samples, 19, None, _cityscapes_train_id if label_ids else (lambda v: v))


# The label ids of Cityscapes' 19 evaluated classes, in train-id order (road, sidewalk, ... bicycle): cityscapesScripts' table.
_CITYSCAPES_EVALUATED_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)


def _cityscapes_train_id(label_id: int) -> int:
    """A label id's train id; 255 for the ids (0-33) not evaluated; a value that is no label id keeps its value (refused)."""
    if label_id in _CITYSCAPES_EVALUATED_IDS:
        return _CITYSCAPES_EVALUATED_IDS.index(label_id)
    return IGNORE if label_id <= 33 else label_id


def _open_pascal_context(root: str, split: str) -> SegmentationDataset:
    candidates = [os.path.join(root, "VOCdevkit", "VOC2010"), os.path.join(root, "VOC2010"), root]
    base = next(c for c in candidates if os.path.isdir(c))
    listing = os.path.join(base, "ImageSets", "SegmentationContext", split + ".txt")
    if not os.path.isfile(listing):
        raise DatasetError(f"{listing}: the Pascal Context split list is missing (expected VOC2010/ImageSets/SegmentationContext/{split}.txt)")
    samples = []
    for line in (l.strip() for l in _text_lines(listing)):
        if not line:
            continue
        image = os.path.join(base, "JPEGImages", line + ".jpg")
        label = os.path.join(base, "SegmentationClassContext", line + ".png")
        if not os.path.isfile(image):
            raise DatasetError(f"{listing}: lists '{line}' but {image} does not exist")
        if not os.path.isfile(label):
            raise DatasetError(f"{image}: no label file {label}")
        samples.append(Sample(image, label))
    return SegmentationDataset("pascal-context", root, split, samples, 60, None, lambda v: v)


def _text_lines(path: str) -> List[str]:
    """The lines of a UTF-8 text file; a DatasetError naming the file and the first byte that is not UTF-8."""
    with open(path, "rb") as stream:
        data = stream.read()
    try:
        return data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); save it as UTF-8") from None


def _open_folder(root: str, split: str) -> SegmentationDataset:
    classes_file = os.path.join(root, "classes.txt")
    if not os.path.isfile(classes_file):
        raise DatasetError(f"{classes_file}: a folder dataset needs classes.txt, one class name per line, in label order")
    classes = [l.strip() for l in _text_lines(classes_file) if l.strip()]
    if not 1 <= len(classes) <= 255:
        raise DatasetError(f"{classes_file}: needs between 1 and 255 class names, found {len(classes)}")
    images, labels = os.path.join(root, "images", split), os.path.join(root, "labels", split)
    if not os.path.isdir(images):
        images, labels = os.path.join(root, "images"), os.path.join(root, "labels")
    _require_directory(images, f"images (images/{split} or images/)")
    _require_directory(labels, f"labels (labels/{split} or labels/)")
    samples = _pair(_images_in(images), lambda image: os.path.join(labels, _stem(image) + ".png"))
    return SegmentationDataset("folder", root, split, samples, len(classes), classes, lambda v: v)
