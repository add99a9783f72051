import numpy as np
import pytest

from helpers import scene
from segmenter_torch.augment import (AugmentationOptions, augment, dominated, normalize_and_pad, photometric_distortion,
                                     random_crop, resize_nearest)
from segmenter_torch.batches import TrainingSamples, epoch_order
from segmenter_torch.seeds import mix

MEAN, STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]


def sample(h=37, w=53, seed=0):
    return scene(np.random.default_rng(seed), h, w)


def test_seeds_mix_matches_the_csharp_splitmix():
    # Values computed by hand from the SplitMix64 definition (the C# Seeds.Mix); any change breaks resumes.
    def splitmix(x):
        m = (1 << 64) - 1
        x = (x + 0x9E3779B97F4A7C15) & m
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
        return x ^ (x >> 31)
    state = 7
    for index in (3, 0xD20F):
        state = splitmix(state ^ splitmix(index + 0x9E3779B97F4A7C15))
    assert mix(7, 3, 0xD20F) == splitmix(state) & 0x7FFFFFFF
    assert mix(0, 1) != mix(0, 2) and mix(0, 1) != mix(1, 1) and 0 <= mix(-5, 9) < 2 ** 31


def test_the_same_seed_gives_the_same_sample_and_another_seed_another():
    image, labels = sample()
    options = AugmentationOptions(32)
    a = augment(image, labels, options, MEAN, STD, np.random.default_rng(11))
    b = augment(image, labels, options, MEAN, STD, np.random.default_rng(11))
    c = augment(image, labels, options, MEAN, STD, np.random.default_rng(12))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("size", [(10, 14), (37, 53), (90, 70)])
def test_outputs_are_crop_sized_padded_and_hold_only_original_labels(size):
    image, labels = sample(*size, seed=size[0])
    for seed in range(6):
        pixels, values = augment(image, labels, AugmentationOptions(32), MEAN, STD, np.random.default_rng(seed))
        assert pixels.shape == (3, 32, 32) and pixels.dtype == np.float32
        assert values.shape == (32, 32) and values.dtype == np.uint8
        assert set(np.unique(values)) <= set(np.unique(labels)) | {255}   # nearest neighbour: no blended labels
        padded = values == 255
        assert np.all(pixels[:, padded] == 0) or not padded.any()


def test_padding_puts_the_image_top_left_with_zeros_and_255():
    image = np.full((5, 7, 3), 255, np.uint8)
    labels = np.ones((5, 7), np.uint8)
    pixels, values = normalize_and_pad(image, labels, 8, MEAN, STD)
    assert np.allclose(pixels[:, :5, :7], ((1 - np.array(MEAN)) / np.array(STD))[:, None, None])
    assert np.all(pixels[:, 5:, :] == 0) and np.all(pixels[:, :, 7:] == 0)
    assert np.all(values[:5, :7] == 1) and np.all(values[5:, :] == 255) and np.all(values[:, 7:] == 255)


def test_nearest_resize_samples_source_pixels():
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert resize_nearest(labels, 8, 6).tolist()[0] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert resize_nearest(labels, 2, 3).tolist() == [[0, 2], [4, 6], [8, 10]]


def test_crop_is_retried_while_one_class_dominates():
    labels = np.zeros((40, 40), np.uint8)
    labels[:, 30:] = 1   # only windows reaching the right edge hold two classes
    image = np.zeros((40, 40, 3), np.uint8)
    assert dominated(labels[:10, :10], 0.75) and not dominated(labels[:10, 26:36], 0.75)
    assert dominated(np.full((4, 4), 255, np.uint8), 0.75)
    hits = once = 0
    for seed in range(40):
        _, crop = random_crop(image, labels, 20, 0.75, np.random.default_rng(seed))
        hits += not dominated(crop, 0.75)
        _, crop = random_crop(image, labels, 20, 1.0, np.random.default_rng(seed))   # no retries
        once += not dominated(crop, 0.75)
    # One try finds a mixed window (x in 16..20) with probability 5/21; ten tries with 0.93.
    assert hits >= 32 and once <= 18, (hits, once)


def test_photometric_distortion_is_seeded_and_keeps_the_shape():
    image, _ = sample()
    a = photometric_distortion(image, np.random.default_rng(3))
    assert a.shape == image.shape and a.dtype == np.uint8
    assert np.array_equal(a, photometric_distortion(image, np.random.default_rng(3)))
    grey = np.full((4, 4, 3), 128, np.uint8)
    # hue and saturation cannot change a grey image; brightness and contrast change all channels alike
    for seed in range(10):
        out = photometric_distortion(grey, np.random.default_rng(seed)).astype(int)
        assert np.all(out[..., 0] == out[..., 1]) and np.all(out[..., 1] == out[..., 2])


def test_batches_are_functions_of_seed_batch_and_position_not_of_the_process(tmp_path):
    from helpers import make_folder_dataset
    from segmenter_torch.augment import AugmentationOptions
    from segmenter_torch.data import open_dataset
    dataset = open_dataset("folder", make_folder_dataset(str(tmp_path / "d"), train=5, val=0), "train")
    make = lambda: TrainingSamples(dataset, AugmentationOptions(16), MEAN, STD, seed=4, global_batch=4)
    first, second = make(), make()
    for position in (9, 0, 17):   # any order of requests, in another instance
        a, b = first[position], second[position]
        assert all(np.array_equal(x, y) for x, y in zip(a[:2], b[:2]))
    assert sorted(epoch_order(4, 2, 5)) == list(range(5))
    assert [first.sample_at(p) for p in range(5, 10)] == list(epoch_order(4, 1, 5))
