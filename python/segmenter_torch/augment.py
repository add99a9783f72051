"""The training augmentation, the same algorithm as the .NET pipeline (Augmentation/*.cs, mmsegmentation's):

resize to the scale (4S, S) keeping the aspect ratio with a random ratio in [0.5, 2] (images
bilinear, labels nearest); a random S×S crop, retried up to 10 times while one class covers 75 % or
more of its labelled pixels; horizontal flip with p = ½; photometric distortion (brightness,
contrast, saturation, hue); normalisation with the spec's mean and std on [0, 1] images; padding to
S×S (image 0, label 255).

Every random choice comes from the ``numpy.random.Generator`` passed in, drawn in the same order as
the C# code draws from its ``System.Random``; a sample's generator is seeded from (run seed, batch,
position) by ``seeds.mix``, so the result does not depend on which process or worker computes it.
(The two engines' generators differ, so the same seed gives other — equally distributed — crops in
.NET and here.)
"""

from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

IGNORE = 255


@dataclass(frozen=True)
class AugmentationOptions:
    """AugmentationOptions.cs: crop S, resize ratios, cat_max_ratio, flip probability, photometric on/off."""

    crop_size: int
    min_ratio: float = 0.5
    max_ratio: float = 2.0
    category_max_ratio: float = 0.75
    flip_probability: float = 0.5
    photometric: bool = True


def resize_bilinear(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 [H, W, 3] resized bilinearly (half-pixel centres, no antialiasing, as OpenCV's INTER_LINEAR)."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    chw = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0).float()
    resized = F.interpolate(chw, size=(height, width), mode="bilinear", align_corners=False)
    return resized[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def resize_nearest(labels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Labels resized by nearest neighbour: source index floor(i · size / new size), as ImageOps.ResizeNearest."""
    if labels.shape[1] == width and labels.shape[0] == height:
        return labels
    source_h, source_w = labels.shape
    rows = np.minimum(source_h - 1, (np.arange(height) * (source_h / height)).astype(np.int64))
    columns = np.minimum(source_w - 1, (np.arange(width) * (source_w / width)).astype(np.int64))
    return labels[rows[:, None], columns[None, :]]


def random_resize(image, labels, s: int, min_ratio: float, max_ratio: float, rng: np.random.Generator):
    """The keep-ratio resize to the scale (4S·r, S·r) for a random ratio r."""
    ratio = min_ratio + (max_ratio - min_ratio) * rng.random()
    height, width = labels.shape
    long_side, short_side = 4 * s * ratio, s * ratio
    factor = min(long_side / max(width, height), short_side / min(width, height))
    new_w, new_h = max(1, int(width * factor + 0.5)), max(1, int(height * factor + 0.5))
    return resize_bilinear(image, new_w, new_h), resize_nearest(labels, new_w, new_h)


def dominated(window: np.ndarray, ratio: float) -> bool:
    """True unless the window holds more than one class and the largest covers less than ``ratio`` of its labelled pixels."""
    counts = np.bincount(window.reshape(-1), minlength=256)
    counts[IGNORE] = 0
    total = counts.sum()
    present = int((counts > 0).sum())
    return not (present > 1 and counts.max() / total < ratio)


def random_crop(image, labels, s: int, category_max_ratio: float, rng: np.random.Generator):
    """A random crop of at most S×S, retried (up to 10 tries) while one class dominates it."""
    height, width = labels.shape
    crop_w, crop_h = min(s, width), min(s, height)
    x = y = 0
    for _ in range(10):
        x = int(rng.integers(0, width - crop_w + 1))
        y = int(rng.integers(0, height - crop_h + 1))
        if category_max_ratio >= 1 or not dominated(labels[y:y + crop_h, x:x + crop_w], category_max_ratio):
            break
    return image[y:y + crop_h, x:x + crop_w], labels[y:y + crop_h, x:x + crop_w]


def _add_scale(pixels: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    return np.clip(pixels.astype(np.float64) * alpha + beta, 0, 255).astype(np.float32)


def _hsv_to_rgb(hue_sixths, saturation, value):
    c = value * saturation
    x = c * (1 - np.abs(np.mod(hue_sixths, 2) - 1))
    m = value - c
    zero = np.zeros_like(c)
    sector = np.clip(hue_sixths.astype(np.int64), 0, 5)
    r = np.choose(sector, [c, x, zero, zero, x, c])
    g = np.choose(sector, [x, c, c, x, zero, zero])
    b = np.choose(sector, [zero, zero, x, c, c, x])
    return r + m, g + m, b + m


def _adjust_hsv(pixels: np.ndarray, saturation: float, hue_shift: int) -> np.ndarray:
    rgb = pixels.astype(np.float64) / 255
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    delta = high - low
    safe = np.where(delta == 0, 1, delta)
    hue = np.where(high == r, 60 * np.fmod((g - b) / safe, 6),
                   np.where(high == g, 60 * ((b - r) / safe + 2), 60 * ((r - g) / safe + 4)))
    hue = np.where(delta == 0, 0, hue)
    hue = np.where(hue < 0, hue + 360, hue)
    sat = np.where(high == 0, 0, delta / np.where(high == 0, 1, high))
    sat = np.clip(sat * saturation, 0, 1)
    hue = np.mod(np.mod(hue / 2 + hue_shift, 180) + 180, 180) * 2   # OpenCV's 8-bit hue is degrees / 2
    rr, gg, bb = _hsv_to_rgb(hue / 60, sat, high)
    return (np.stack([rr, gg, bb], axis=-1) * 255).astype(np.float32)


def photometric_distortion(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """mmsegmentation's PhotoMetricDistortion (PhotometricDistortion.cs), drawing in the same order."""
    pixels = image.astype(np.float32)
    if rng.integers(2) == 1:
        pixels = _add_scale(pixels, 1, rng.random() * 64 - 32)
    contrast_first = rng.integers(2) == 1
    if contrast_first and rng.integers(2) == 1:
        pixels = _add_scale(pixels, 0.5 + rng.random(), 0)
    saturate = rng.integers(2) == 1
    saturation = 0.5 + rng.random() if saturate else 1.0
    shift_hue = rng.integers(2) == 1
    hue = int(rng.integers(-18, 19)) if shift_hue else 0
    if saturate or shift_hue:
        pixels = _adjust_hsv(pixels, saturation, hue)
    if not contrast_first and rng.integers(2) == 1:
        pixels = _add_scale(pixels, 0.5 + rng.random(), 0)
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)


def normalize(image: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """uint8 [H, W, 3] → float32 [3, H, W]: (x / 255 − mean) / std."""
    chw = image.astype(np.float32).transpose(2, 0, 1) / np.float32(255)
    return (chw - np.asarray(mean, np.float32)[:, None, None]) / np.asarray(std, np.float32)[:, None, None]


def normalize_and_pad(image, labels, s: int, mean, std) -> Tuple[np.ndarray, np.ndarray]:
    """Normalised CHW image padded with zeros to S×S, labels padded with 255."""
    height, width = labels.shape
    pixels = np.zeros((3, s, s), np.float32)
    values = np.full((s, s), IGNORE, np.uint8)
    pixels[:, :height, :width] = normalize(image, mean, std)
    values[:height, :width] = labels
    return pixels, values


def augment(image: np.ndarray, labels: np.ndarray, options: AugmentationOptions, mean, std,
            rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """One training sample: (image float32 [3, S, S], labels uint8 [S, S])."""
    s = options.crop_size
    image, labels = random_resize(image, labels, s, options.min_ratio, options.max_ratio, rng)
    image, labels = random_crop(image, labels, s, options.category_max_ratio, rng)
    if rng.random() < options.flip_probability:
        image, labels = image[:, ::-1], labels[:, ::-1]
    if options.photometric:
        image = photometric_distortion(image, rng)
    return normalize_and_pad(np.ascontiguousarray(image), np.ascontiguousarray(labels), s, mean, std)
