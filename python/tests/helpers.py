"""Tiny synthetic datasets (Pillow) in each layout, and paths used by the tests."""

import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_ROOT = os.path.dirname(HERE)
TINY_MODEL = os.path.join(HERE, "tiny_model.py")


def scene(rng, height, width, classes=3):
    """An image and labels: a textured background (0), a bright square (1) and a dark disc (2)."""
    labels = np.zeros((height, width), np.uint8)
    image = (rng.integers(90, 140, size=(height, width, 3))).astype(np.uint8)
    x0, y0 = rng.integers(0, width // 2), rng.integers(0, height // 2)
    side = int(rng.integers(max(4, min(height, width) // 4), max(5, min(height, width) // 2)))
    labels[y0:y0 + side, x0:x0 + side] = 1
    if classes > 2:
        cy, cx, r = rng.integers(height // 3, height), rng.integers(width // 3, width), max(3, min(height, width) // 6)
        yy, xx = np.mgrid[:height, :width]
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 2
    image[labels == 1] = (230, 200, 40)
    image[labels == 2] = (20, 40, 160)
    return image, labels


def save_label(path, labels, palette=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if palette:
        image = Image.fromarray(labels, mode="P")
        image.putpalette([v for i in range(256) for v in ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)])
    else:
        image = Image.fromarray(labels, mode="L")
    image.save(path)


def save_image(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(image).save(path, quality=95) if path.endswith(".jpg") else Image.fromarray(image).save(path)


def make_folder_dataset(root, train=8, val=2, seed=0, palette=False, size=(40, 56)):
    rng = np.random.default_rng(seed)
    with open(os.path.join(_mkdir(root), "classes.txt"), "w") as f:
        f.write("background\nsquare\ndisc\n")
    for split, count in (("train", train), ("val", val)):
        for i in range(count):
            h = int(rng.integers(size[0], size[1]))
            w = int(rng.integers(size[0], size[1]))
            image, labels = scene(rng, h, w)
            save_image(os.path.join(root, "images", split, f"{i:03d}.png"), image)
            save_label(os.path.join(root, "labels", split, f"{i:03d}.png"), labels, palette)
    return root


def _mkdir(path):
    os.makedirs(path, exist_ok=True)
    return path
