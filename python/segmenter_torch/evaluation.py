"""Evaluating a model over a dataset split (DatasetEvaluation.cs), alone or in several processes.

With DDP (or one process) each of W processes takes the images i ≡ rank (mod W) and the confusion
matrices are summed with an all-reduce, so every process ends with the dataset's metrics. With FSDP,
whose forward passes are collective, every process runs every image in the same order (the
parameters are gathered per block) and the matrix is not reduced.
"""

import numpy as np
import torch

from . import amp as amp_modes
from .augment import normalize
from .data import SegmentationDataset
from .distributed import Context, all_reduce_sum, is_fsdp, unwrap
from .inference import InferenceOptions, probabilities
from .metrics import ConfusionMatrix, SegmentationMetrics


def image_tensor(image: np.ndarray, mean, std, device) -> torch.Tensor:
    """uint8 [H, W, 3] → normalised float32 [1, 3, H, W] on ``device``."""
    return torch.from_numpy(normalize(image, mean, std)).unsqueeze(0).to(device)


def evaluate(model: torch.nn.Module, dataset: SegmentationDataset, options: InferenceOptions, context: Context,
             num_classes: int, mean, std, class_names=None, amp: str = "off", on_image=None) -> SegmentationMetrics:
    """Dataset-level metrics of ``model`` (possibly DDP/FSDP-wrapped) over ``dataset``; the model is left in eval mode."""
    if dataset.num_classes != num_classes:
        raise ValueError(f"the dataset has {dataset.num_classes} classes but the model predicts {num_classes}")
    collective = is_fsdp(model)
    network = model if collective else unwrap(model)
    network.eval()
    matrix = ConfusionMatrix(num_classes, device=context.device)
    indices = range(len(dataset)) if collective or not context.distributed else range(context.rank, len(dataset), context.world_size)

    def logits_of(batch):
        with amp_modes.autocast(amp, context.device):
            return network(batch)

    with torch.no_grad():
        for done, index in enumerate(indices, 1):
            image, labels = dataset.load(index)
            prediction = probabilities(logits_of, image_tensor(image, mean, std, context.device), options).argmax(1)[0]
            matrix.add(prediction, torch.from_numpy(labels).to(context.device))
            if on_image is not None:
                on_image(done, len(indices))
    if not collective:
        all_reduce_sum(matrix.counts, context)
    return matrix.compute(class_names)
