"""Dataset-level segmentation metrics, as ConfusionMatrix.cs (and mmsegmentation) compute them.

A K × K confusion matrix (rows: ground truth, columns: prediction) summed over the whole dataset,
pixels labelled 255 ignored. Per class: IoU = I / (P + G − I), accuracy = I / G; a class whose union
(for IoU) or ground truth (for accuracy) is empty is NaN and left out of the means; aAcc = correct /
labelled pixels.
"""

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch

IGNORE = 255


class ConfusionMatrix:
    """Counts (int64) of (truth, prediction) pairs; ``counts`` may be all-reduced across processes."""

    def __init__(self, classes: int, device=None):
        if classes < 1:
            raise ValueError("a confusion matrix needs at least one class")
        self.classes = classes
        self.counts = torch.zeros(classes, classes, dtype=torch.int64, device=device)

    def add(self, predictions: torch.Tensor, labels: torch.Tensor) -> None:
        """Adds predictions and labels of equal shape (labels 255 ignored)."""
        if tuple(predictions.shape) != tuple(labels.shape):
            raise ValueError(f"predictions {list(predictions.shape)} and labels {list(labels.shape)} differ in shape")
        truth = labels.reshape(-1).long().to(self.counts.device)
        predicted = predictions.reshape(-1).long().to(self.counts.device)
        valid = truth != IGNORE
        codes = truth[valid] * self.classes + predicted[valid]
        if codes.numel() == 0:
            return
        if int(codes.min()) < 0 or int(codes.max()) >= self.classes * self.classes or int(predicted[valid].max()) >= self.classes:
            raise ValueError(f"labels or predictions outside 0–{self.classes - 1} (and 255 for ignored labels)")
        self.counts += torch.bincount(codes, minlength=self.classes * self.classes).reshape(self.classes, self.classes)

    def compute(self, class_names: Optional[Sequence[str]] = None) -> "SegmentationMetrics":
        counts = self.counts.cpu().double()
        intersection = counts.diag()
        truth = counts.sum(1)
        predicted = counts.sum(0)
        union = truth + predicted - intersection
        per_class = []
        for c in range(self.classes):
            name = class_names[c] if class_names is not None and c < len(class_names) else f"class {c}"
            iou = float(intersection[c] / union[c]) if union[c] > 0 else math.nan
            accuracy = float(intersection[c] / truth[c]) if truth[c] > 0 else math.nan
            per_class.append(ClassMetric(name, iou, accuracy))
        total = float(truth.sum())
        return SegmentationMetrics(
            float(intersection.sum()) / total if total > 0 else math.nan,
            _nan_mean([c.iou for c in per_class]),
            _nan_mean([c.accuracy for c in per_class]),
            per_class,
            int(total))


def _nan_mean(values: List[float]) -> float:
    defined = [v for v in values if not math.isnan(v)]
    return sum(defined) / len(defined) if defined else math.nan


@dataclass
class ClassMetric:
    name: str
    iou: float
    accuracy: float


@dataclass
class SegmentationMetrics:
    """aAcc, mIoU and mAcc (fractions, not percentages), per class, and the labelled pixels counted."""

    pixel_accuracy: float
    mean_iou: float
    mean_accuracy: float
    classes: List[ClassMetric]
    pixels: int

    def to_json(self) -> dict:
        clean = lambda v: None if math.isnan(v) else v
        return {"aAcc": clean(self.pixel_accuracy), "mIoU": clean(self.mean_iou), "mAcc": clean(self.mean_accuracy), "pixels": self.pixels,
                "classes": [{"name": c.name, "IoU": clean(c.iou), "Acc": clean(c.accuracy)} for c in self.classes]}

    def table(self) -> str:
        """The per-class table and the summary, ×100 with two decimals."""
        percent = lambda v: "nan" if math.isnan(v) else f"{100 * v:.2f}"
        width = max([5] + [len(c.name) for c in self.classes])
        lines = [f"{'class':<{width}}  {'IoU':>7}  {'Acc':>7}"]
        lines += [f"{c.name:<{width}}  {percent(c.iou):>7}  {percent(c.accuracy):>7}" for c in self.classes]
        lines.append(f"aAcc {percent(self.pixel_accuracy)}  mIoU {percent(self.mean_iou)}  mAcc {percent(self.mean_accuracy)}  ({self.pixels} labelled pixels)")
        return "\n".join(lines)
