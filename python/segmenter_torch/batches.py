"""Training batches as pure functions of the run's seed and the batch number (TrainingBatches.cs).

Global batch ``b`` holds the samples at positions ``b·B + j`` (j < B) of an endless stream of
per-epoch shuffles of the seed; sample ``j`` of batch ``b`` is augmented with its own generator seeded
by ``mix(seed, b, j)``. With W processes, rank r takes positions ``j ∈ [r·B/W, (r+1)·B/W)`` of every
global batch, so the union over ranks is exactly the batch one process would see, and a run resumed
at step i (batch i·accumulate) sees the batches an uninterrupted run would.
"""

import itertools
from typing import Dict, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .augment import AugmentationOptions, augment
from .data import DatasetError, SegmentationDataset
from .run_lock import release_run_folders
from .seeds import mix

SHUFFLE_SALT = 0xE90C


def epoch_order(seed: int, epoch: int, count: int) -> np.ndarray:
    """The sample order of one epoch: a permutation of range(count) from mix(seed, epoch, SHUFFLE_SALT)."""
    return np.random.default_rng(mix(seed, epoch, SHUFFLE_SALT)).permutation(count)


class TrainingSamples(Dataset):
    """Map-style dataset over flat positions ``b·B + j``: item = (image [3, S, S] float32, labels [S, S] int64, samples skipped,
    their errors, one a line)."""

    def __init__(self, dataset: SegmentationDataset, options: AugmentationOptions, mean, std, seed: int,
                 global_batch: int, skip_bad_samples: bool = False):
        self.dataset, self.options = dataset, options
        self.mean, self.std = list(mean), list(std)
        self.seed, self.global_batch, self.skip_bad_samples = seed, global_batch, skip_bad_samples
        self._orders: Dict[int, np.ndarray] = {}

    def __len__(self) -> int:   # endless; the sampler decides
        return 2 ** 62

    def sample_at(self, position: int) -> int:
        """The dataset index at a position of the endless stream of per-epoch shuffles."""
        count = len(self.dataset)
        epoch = position // count
        order = self._orders.get(epoch)
        if order is None:
            order = epoch_order(self.seed, epoch, count)
            self._orders = {k: v for k, v in self._orders.items() if k >= epoch - 1}
            self._orders[epoch] = order
        return int(order[position % count])

    def __getitem__(self, position: int):
        batch, j = divmod(position, self.global_batch)
        reasons = []
        for attempt in itertools.count():
            try:
                image, labels = self.dataset.load(self.sample_at(position + attempt))
                break
            except DatasetError as error:
                if not self.skip_bad_samples or attempt >= len(self.dataset):
                    raise
                reasons.append(str(error))
        rng = np.random.default_rng(mix(self.seed, batch, j))
        pixels, values = augment(image, labels, self.options, self.mean, self.std, rng)
        return torch.from_numpy(pixels), torch.from_numpy(values.astype(np.int64)), len(reasons), "\n".join(reasons)


class RankSampler(Sampler):
    """Endless positions for one rank: its share of every global batch from ``first_batch`` on."""

    def __init__(self, first_batch: int, global_batch: int, rank: int, world_size: int):
        if global_batch % world_size:
            raise ValueError(f"the batch {global_batch} is not divisible by the {world_size} processes")
        self.first_batch, self.global_batch = first_batch, global_batch
        self.per_rank = global_batch // world_size
        self.start = rank * self.per_rank

    def __iter__(self) -> Iterator[int]:
        for batch in itertools.count(self.first_batch):
            base = batch * self.global_batch + self.start
            yield from range(base, base + self.per_rank)

    def __len__(self) -> int:
        return 2 ** 62


def _worker_init(_):
    torch.set_num_threads(1)   # workers resize with torch; one thread each keeps them from fighting the trainer
    release_run_folders()      # the trainer's run lock is the trainer's: it must not outlive it in a worker


def training_loader(samples: TrainingSamples, first_batch: int, rank: int, world_size: int, workers: int):
    """A DataLoader giving this rank's part of global batches first_batch, first_batch + 1, …"""
    per_rank = samples.global_batch // world_size
    kwargs = {}
    if workers > 0:
        kwargs = {"num_workers": workers, "prefetch_factor": 4, "persistent_workers": True, "worker_init_fn": _worker_init}
    return torch.utils.data.DataLoader(samples, batch_size=per_rank, sampler=RankSampler(first_batch, samples.global_batch, rank, world_size), **kwargs)
