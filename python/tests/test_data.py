import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import make_folder_dataset, save_image, save_label, scene
from segmenter_torch import UserError
from segmenter_torch.augment import AugmentationOptions
from segmenter_torch.batches import TrainingSamples
from segmenter_torch.data import DatasetError, open_dataset


def one(rng, h=20, w=24):
    return scene(rng, h, w)


@pytest.mark.parametrize("palette", [False, True])
def test_folder_layout_reads_grey_and_palette_labels_by_index(tmp_path, palette):
    root = make_folder_dataset(str(tmp_path / "d"), train=3, val=1, palette=palette)
    train = open_dataset("folder", root, "train")
    assert len(train) == 3 and train.num_classes == 3 and train.class_names == ["background", "square", "disc"]
    image, labels = train.load(0)
    raw = np.asarray(Image.open(train.samples[0].label_path))
    assert image.dtype == np.uint8 and image.shape == labels.shape + (3,)
    assert np.array_equal(labels, raw) and set(np.unique(labels)) <= {0, 1, 2}


def test_folder_layout_without_split_folders(tmp_path):
    rng = np.random.default_rng(0)
    image, labels = one(rng)
    save_image(str(tmp_path / "images" / "a.jpg"), image)
    save_label(str(tmp_path / "labels" / "a.png"), labels)
    (tmp_path / "classes.txt").write_text("a\nb\nc\n")
    assert len(open_dataset("custom", str(tmp_path), "train")) == 1


def test_two_images_of_one_name_or_a_jpeg_label_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    image, labels = one(rng)
    save_image(str(tmp_path / "images" / "a.jpg"), image)
    save_image(str(tmp_path / "images" / "a.png"), image)
    save_label(str(tmp_path / "labels" / "a.png"), labels)
    (tmp_path / "classes.txt").write_text("a\nb\nc\n")
    with pytest.raises(DatasetError, match="a.png and .*a.jpg both pair with .*a.png: one image per name"):
        open_dataset("folder", str(tmp_path), "train")
    os.remove(tmp_path / "images" / "a.png")
    Image.fromarray(labels).save(str(tmp_path / "labels" / "a.png"), format="JPEG")   # a JPEG under a .png name
    dataset = open_dataset("folder", str(tmp_path), "train")
    with pytest.raises(DatasetError, match="must be a PNG \\(lossless\\), but this file holds JPEG data"):
        dataset.load(0)


def test_ade20k_reduces_the_zero_label(tmp_path):
    base = tmp_path / "ADEChallengeData2016"
    labels = np.array([[0, 1, 150], [2, 0, 75]], np.uint8)
    save_image(str(base / "images" / "validation" / "ADE_val_1.jpg"), np.zeros((2, 3, 3), np.uint8))
    save_label(str(base / "annotations" / "validation" / "ADE_val_1.png"), labels)
    dataset = open_dataset("ade20k", str(tmp_path), "val")
    assert dataset.num_classes == 150
    _, mapped = dataset.load(0)
    assert mapped.tolist() == [[255, 0, 149], [1, 255, 74]]


def test_cityscapes_pairs_by_city_and_suffix(tmp_path):
    rng = np.random.default_rng(1)
    image, labels = one(rng)
    labels[0, 0] = 255
    save_image(str(tmp_path / "leftImg8bit" / "train" / "aachen" / "aachen_000000_000019_leftImg8bit.png"), image)
    save_label(str(tmp_path / "gtFine" / "train" / "aachen" / "aachen_000000_000019_gtFine_labelTrainIds.png"), labels)
    dataset = open_dataset("cityscapes", str(tmp_path), "train")
    assert dataset.num_classes == 19 and len(dataset) == 1
    assert np.array_equal(dataset.load(0)[1], labels)


def test_cityscapes_label_ids_are_read_as_train_ids(tmp_path):
    # Cityscapes as downloaded: label ids 0-33, no train ids. Each id maps to its train id; the ids not evaluated to 255.
    evaluated = [7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33]
    ids = (np.arange(34 * 3, dtype=np.uint8) % 34).reshape(6, 17)
    stem = tmp_path / "gtFine" / "val" / "lindau" / "lindau_000000_000019"
    save_image(str(tmp_path / "leftImg8bit" / "val" / "lindau" / "lindau_000000_000019_leftImg8bit.png"), np.zeros((6, 17, 3), np.uint8))
    save_label(str(stem) + "_gtFine_labelIds.png", ids)
    dataset = open_dataset("cityscapes", str(tmp_path), "val")
    assert dataset.samples[0].label_path.endswith("_gtFine_labelIds.png")
    expected = np.array([evaluated.index(v) if v in evaluated else 255 for v in ids.flatten()], np.uint8).reshape(ids.shape)
    assert np.array_equal(dataset.load(0)[1], expected)
    # Train ids beside them are preferred (mmsegmentation's converted layout).
    save_label(str(stem) + "_gtFine_labelTrainIds.png", expected)
    assert open_dataset("cityscapes", str(tmp_path), "val").samples[0].label_path.endswith("_gtFine_labelTrainIds.png")
    # A value that is no label id is refused.
    os.remove(str(stem) + "_gtFine_labelTrainIds.png")
    ids[0, 5] = 34
    save_label(str(stem) + "_gtFine_labelIds.png", ids)
    with pytest.raises(DatasetError, match=r"label value 34 at pixel \(5, 0\) is not one of the 19 classes"):
        open_dataset("cityscapes", str(tmp_path), "val").load(0)
    os.remove(str(stem) + "_gtFine_labelIds.png")
    with pytest.raises(DatasetError, match="_gtFine_labelTrainIds.png, or a _gtFine_labelIds.png beside every image"):
        open_dataset("cityscapes", str(tmp_path), "val")


def test_pascal_context_follows_the_split_list(tmp_path):
    base = tmp_path / "VOCdevkit" / "VOC2010"
    rng = np.random.default_rng(2)
    for name in ("2008_000002", "2008_000003"):
        image, labels = one(rng)
        save_image(str(base / "JPEGImages" / f"{name}.jpg"), image)
        save_label(str(base / "SegmentationClassContext" / f"{name}.png"), labels, palette=True)
    os.makedirs(base / "ImageSets" / "SegmentationContext")
    (base / "ImageSets" / "SegmentationContext" / "val.txt").write_text("2008_000003\n\n")
    dataset = open_dataset("pascal-context", str(tmp_path), "val")
    assert dataset.num_classes == 60 and [os.path.basename(s.image_path) for s in dataset.samples] == ["2008_000003.jpg"]
    (base / "ImageSets" / "SegmentationContext" / "train.txt").write_text("2008_000009\n")
    with pytest.raises(DatasetError, match="lists '2008_000009' but .* does not exist"):
        open_dataset("pascal-context", str(tmp_path), "train")


def test_validation_names_the_file(tmp_path):
    root = make_folder_dataset(str(tmp_path / "d"), train=3, val=0)
    labels_dir = os.path.join(root, "labels", "train")
    # a label value outside the classes
    bad = np.zeros((40, 40), np.uint8)
    bad[0, 5] = 9
    save_image(os.path.join(root, "images", "train", "000.png"), np.zeros((40, 40, 3), np.uint8))
    save_label(os.path.join(labels_dir, "000.png"), bad)
    # image and label of different sizes
    save_image(os.path.join(root, "images", "train", "001.png"), np.zeros((40, 41, 3), np.uint8))
    save_label(os.path.join(labels_dir, "001.png"), np.zeros((40, 40), np.uint8))
    # a colour label
    save_image(os.path.join(root, "images", "train", "002.png"), np.zeros((4, 4, 3), np.uint8))
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(os.path.join(labels_dir, "002.png"))
    dataset = open_dataset("folder", root, "train")
    with pytest.raises(DatasetError, match=r"000.png: label value 9 at pixel \(5, 0\) is not one of the 3 classes \(0–2\) or ignore \(255\)"):
        dataset.load(0)
    with pytest.raises(DatasetError, match=r"001.png: the labels are 40×40 but the image .*001.png is 41×40"):
        dataset.load(1)
    # ... found from the headers, before either is decoded: the image's pixel data cut off does not matter.
    image_path = os.path.join(root, "images", "train", "001.png")
    with open(image_path, "r+b") as f:
        f.truncate(60)
    with pytest.raises(DatasetError, match=r"001.png: the labels are 40×40 but the image .*001.png is 41×40"):
        dataset.load(1)
    with pytest.raises(DatasetError, match=r"002.png: a label image must be an 8-bit greyscale or a palette .* but this one is 8-bit RGB colour"):
        dataset.load(2)
    os.remove(os.path.join(labels_dir, "002.png"))
    with pytest.raises(DatasetError, match=r"002.png: no label file"):
        open_dataset("folder", root, "train")
    # A link to nowhere is listed, and reading it names it: the dataset never shrinks silently.
    os.remove(os.path.join(root, "images", "train", "002.png"))
    os.symlink(os.path.join(root, "nowhere.png"), os.path.join(root, "images", "train", "003.png"))
    save_label(os.path.join(labels_dir, "003.png"), np.zeros((40, 40), np.uint8))
    dataset = open_dataset("folder", root, "train")
    assert len(dataset) == 3
    with pytest.raises(DatasetError, match=r"003.png"):
        dataset.load(2)


def test_missing_folders_and_layouts_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        open_dataset("folder", str(tmp_path / "nowhere"), "train")
    with pytest.raises(UserError, match="unknown dataset layout 'coco'"):
        open_dataset("coco", str(tmp_path), "train")
    with pytest.raises(DatasetError, match="classes.txt"):
        open_dataset("folder", str(tmp_path), "train")
    # Text that is not UTF-8 (Latin-1's "é") is refused naming the byte, never read as U+FFFD; a BOM is not part of a name.
    (tmp_path / "classes.txt").write_bytes(b"back\xe9\nsky\n")
    with pytest.raises(DatasetError, match=r"classes.txt: not UTF-8 text \(byte 0xe9 at offset 4\); save it as UTF-8"):
        open_dataset("folder", str(tmp_path), "train")
    (tmp_path / "classes.txt").write_bytes(b"\xef\xbb\xbfback\r\nsky\n")
    with pytest.raises(DatasetError, match="images"):   # classes.txt is read; the folders are what is missing now
        open_dataset("folder", str(tmp_path), "train")
    from segmenter_torch.data import _text_lines
    assert _text_lines(str(tmp_path / "classes.txt")) == ["back", "sky"]


def test_skip_bad_samples_uses_the_next_sample_and_counts(tmp_path):
    root = make_folder_dataset(str(tmp_path / "d"), train=4, val=0)
    (tmp_path / "d" / "images" / "train" / "001.png").write_bytes(b"not an image")
    dataset = open_dataset("folder", root, "train")
    strict = TrainingSamples(dataset, AugmentationOptions(16), [0.5] * 3, [0.5] * 3, seed=0, global_batch=4)
    lenient = TrainingSamples(dataset, AugmentationOptions(16), [0.5] * 3, [0.5] * 3, seed=0, global_batch=4, skip_bad_samples=True)
    bad_position = next(p for p in range(4) if strict.sample_at(p) == 1)
    with pytest.raises(DatasetError, match=r"001.png: unreadable image \((?!image)"):
        strict[bad_position]
    image, labels, skipped, reasons = lenient[bad_position]
    assert skipped == 1 and image.shape == (3, 16, 16) and labels.dtype == torch.int64
    assert reasons.startswith(os.path.join(root, "images", "train", "001.png") + ": unreadable image") and "\n" not in reasons
    assert lenient[next(p for p in range(4) if strict.sample_at(p) != 1)][2:] == (0, "")


def test_the_skip_report_names_each_error_once_and_the_first_ten():
    from segmenter_torch.train import skipped_report
    assert skipped_report(1, ["a.png: unreadable image (x)"]) == "1 unreadable sample was skipped, for 1 error:\n  a.png: unreadable image (x)"
    report = skipped_report(30, [f"{i}.png: bad" for i in range(12)]).split("\n")
    assert report[0] == "30 unreadable samples were skipped, for 12 errors:" and report[10] == "  9.png: bad" and report[11] == "  … and 2 more"


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header_only(path, width, height, color_type):
    """A PNG whose header claims width x height and that holds no pixel data (nothing a reader should need to decode)."""
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    with open(path, "wb") as stream:
        stream.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b""))


def test_images_claiming_more_than_100_megapixels_are_refused_from_the_header(tmp_path):
    from segmenter_torch.data import read_labels, read_rgb
    big_image, big_label = str(tmp_path / "big.png"), str(tmp_path / "big-label.png")
    _png_header_only(big_image, 12000, 12000, 2)
    _png_header_only(big_label, 12000, 12000, 0)
    with pytest.raises(DatasetError, match=r"big.png: the image claims 12000×12000 pixels; at most 100,000,000 are accepted"):
        read_rgb(big_image)
    with pytest.raises(DatasetError, match=r"big-label.png: the image claims 12000×12000 pixels"):
        read_labels(big_label)


def _png(path, width, height, depth, color_type, rows, extra=b""):
    """A PNG from raw scanlines (each with its filter byte), CRCs correct; ``extra`` chunks go before IDAT."""
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    with open(path, "wb") as stream:
        stream.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


def test_labels_read_as_the_dotnet_engine_reads_them(tmp_path):
    """2- and 4-bit greyscale labels are refused (Pillow scales them: a 2-bit 3 would read as 255, the ignore value), as .NET
    refuses them; an 8-bit greyscale label with a transparent value (tRNS) reads as its values."""
    from segmenter_torch.data import read_labels
    two_bit = str(tmp_path / "grey2.png")
    _png(two_bit, 4, 1, 2, 0, b"\x00\x1b")   # values 0, 1, 2, 3
    with pytest.raises(DatasetError, match=r"grey2.png: a label image must be an 8-bit greyscale or a palette \(indexed\) PNG, "
                                           r"but this one is 2-bit greyscale; save the class indices as 8-bit greyscale"):
        read_labels(two_bit)
    four_bit = str(tmp_path / "grey4.png")
    _png(four_bit, 2, 1, 4, 0, b"\x00\x12")
    with pytest.raises(DatasetError, match=r"but this one is 4-bit greyscale"):
        read_labels(four_bit)
    colour = str(tmp_path / "colour.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(colour)
    with pytest.raises(DatasetError, match=r"but this one is 8-bit RGB colour"):
        read_labels(colour)
    transparent = str(tmp_path / "grey-trns.png")
    _png(transparent, 3, 2, 8, 0, b"\x00\x00\x01\x02\x00\x07\xff\x07", extra=_chunk(b"tRNS", b"\x00\x07"))
    assert read_labels(transparent).tolist() == [[0, 1, 2], [7, 255, 7]]


def test_a_16_bit_greyscale_image_reads_as_its_high_bytes(tmp_path):
    """As the .NET engine reads it (Pillow's own conversion to RGB clips every value above 255 to white)."""
    from segmenter_torch.data import read_rgb
    path = str(tmp_path / "grey16.png")
    Image.fromarray(np.array([[0, 20000, 40000, 60000]], np.uint16)).save(path)
    assert read_rgb(path)[0].tolist() == [[0, 0, 0], [78, 78, 78], [156, 156, 156], [234, 234, 234]]


def test_only_the_formats_both_engines_read_are_images(tmp_path):
    """TIFF, PPM and the other formats Pillow opens but the .NET engine does not are refused, saying what they read as."""
    from segmenter_torch.data import image_size, read_rgb
    for name, pillow_format in (("tiff.png", "TIFF"), ("ppm.jpg", "PPM"), ("tga.png", "TGA")):
        path = str(tmp_path / name)
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path, format=pillow_format)
        for read in (image_size, read_rgb):
            with pytest.raises(DatasetError, match=rf"{name}: not a PNG, JPEG, BMP, WebP or GIF image \(its data reads as {pillow_format}\)"):
                read(path)
    for name, pillow_format in (("a.gif", "GIF"), ("a.bmp", "BMP"), ("a.webp", "WEBP")):
        path = str(tmp_path / name)
        Image.fromarray(np.full((4, 5, 3), 9, np.uint8)).save(path, format=pillow_format, **({"lossless": True} if pillow_format == "WEBP" else {}))
        assert read_rgb(path).shape == (4, 5, 3)


def test_what_is_not_a_file_with_content_is_refused_before_it_is_opened(tmp_path):
    """A pipe named like an image would block the reader until something wrote to it; a folder and a link to nothing
    are named as what they are."""
    from segmenter_torch.data import image_size, read_labels, read_rgb
    pipe = str(tmp_path / "pipe.png")
    os.mkfifo(pipe)
    for read in (image_size, read_rgb, read_labels):
        with pytest.raises(DatasetError, match=r"pipe.png: not a regular file \(a pipe or a device\)"):
            read(pipe)
    folder = str(tmp_path / "folder.png")
    os.mkdir(folder)
    with pytest.raises(DatasetError, match=r"folder.png: a folder, not a file"):
        read_rgb(folder)
    dangling = str(tmp_path / "dangling.png")
    os.symlink(str(tmp_path / "nowhere.png"), dangling)
    with pytest.raises(DatasetError, match=r"label file '.*dangling.png' does not exist"):
        read_labels(dangling)


@pytest.mark.parametrize("kind", ["palette", "grey", "colour"])
def test_a_png_with_a_bad_checksum_or_no_end_is_refused(tmp_path, kind):
    """As the .NET engine refuses it: Pillow checks no image data checksum and needs no IEND, so a changed byte could be
    a damaged pixel."""
    from segmenter_torch.data import read_labels, read_rgb
    path = str(tmp_path / f"{kind}.png")
    values = (np.arange(20).reshape(4, 5) % 3).astype(np.uint8)
    if kind == "colour":
        save_image(path, (np.arange(60).reshape(4, 5, 3) * 4).astype(np.uint8))
    else:
        save_label(path, values, palette=kind == "palette")
    read = read_rgb if kind == "colour" else read_labels
    read(path)
    with open(path, "rb") as stream:
        valid = stream.read()
    data = valid.index(b"IDAT") + 4
    changed = bytearray(valid)
    changed[data + 3] ^= 0x01
    with open(path, "wb") as stream:
        stream.write(bytes(changed))
    with pytest.raises(DatasetError, match=rf"{kind}.png: corrupt PNG: the checksum of chunk 'IDAT' does not match its data$"):
        read(path)
    with open(path, "wb") as stream:
        stream.write(valid[:-12])
    with pytest.raises(DatasetError, match=rf"{kind}.png: truncated PNG \(no IEND chunk\)$"):
        read(path)
