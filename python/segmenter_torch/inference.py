"""Whole-image, sliding-window and multi-scale inference, as SegmentationInference.cs runs them.

- whole: the image at once (the model pads it to the patch size).
- slide: an image whose short side is below the window is upsampled (bilinear) so it equals the
  window; windows start at every multiple of the stride below size − window, and at size − window;
  their logits are summed and divided by the per-pixel count, resized to the image, soft-maxed.
- multiscale: sliding windows at scales 0.5 … 1.75, each also flipped; the softmax maps are averaged.
- test_short_side: the image first rescaled so its short side is S (long side at most 4S).
"""

from dataclasses import dataclass
from typing import Callable, List, Optional

import torch
import torch.nn.functional as F

from . import UserError

SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
MODES = ("whole", "slide", "multiscale")


@dataclass(frozen=True)
class InferenceOptions:
    mode: str
    window: int
    stride: int
    test_short_side: Optional[int] = None
    window_batch: int = 4

    @staticmethod
    def for_window(mode: str, window: int, stride: Optional[int] = None, test_short_side: Optional[int] = None) -> "InferenceOptions":
        """The reference's stride of ⅔ of the window unless given; a stride outside 1..window is refused (check_stride)."""
        check_stride(window, stride)
        return InferenceOptions(parse_mode(mode), window, stride if stride is not None else max(1, window * 2 // 3), test_short_side)


# The largest sliding window and test size (InferenceOptions.MaximumWindow and MaximumTestSize in C#).
MAXIMUM_SIZE = 8192


def check_sizes(args) -> None:
    """--window, --stride and --test-size, where given: from 1 to MAXIMUM_SIZE pixels (0 does not mean "the default")."""
    for name in ("window", "stride", "test_size"):
        value = getattr(args, name)
        if value is not None and not 1 <= value <= MAXIMUM_SIZE:
            raise UserError(f"--{name.replace('_', '-')} must be from 1 to {MAXIMUM_SIZE} pixels, not {value}")


def check_stride(window: int, stride: Optional[int]) -> None:
    """A stride beyond the window would leave pixels without a prediction (the .NET engine's rule and message)."""
    if stride is not None and not 1 <= stride <= window:
        raise UserError(f"sliding-window stride {stride} with a window of {window}: the stride must be between 1 and the window")


def parse_mode(text: str) -> str:
    key = text.strip().lower()
    aliases = {"whole": "whole", "slide": "slide", "multiscale": "multiscale", "multi-scale": "multiscale", "ms": "multiscale"}
    if key not in aliases:
        raise ValueError(f"unknown inference mode '{text}': use whole, slide or multiscale")
    return aliases[key]


def bilinear(maps: torch.Tensor, height: int, width: int) -> torch.Tensor:
    if maps.shape[2] == height and maps.shape[3] == width:
        return maps
    return F.interpolate(maps, size=(int(height), int(width)), mode="bilinear", align_corners=False)


def starts(size: int, window: int, stride: int) -> List[int]:
    """Window starts along one axis: multiples of the stride below size − window, then size − window."""
    result = list(range(0, max(0, size - window), stride)) if size - window > 0 else []
    result.append(max(0, size - window))
    return result


def upsample_short_side(image: torch.Tensor, side: int) -> torch.Tensor:
    height, width = image.shape[2], image.shape[3]
    if min(height, width) >= side:
        return image
    if height < width:
        new_h, new_w = side, int(width / height * side)
    else:
        new_w, new_h = side, int(height / width * side)
    return bilinear(image, new_h, new_w)


def rescale(image: torch.Tensor, short_side: Optional[float], scale: float) -> torch.Tensor:
    height, width = image.shape[2], image.shape[3]
    factor = min(4 * short_side / max(height, width), short_side / min(height, width)) if short_side is not None else scale
    if abs(factor - 1) < 1e-9:
        return image
    # .NET's Math.Round rounds half to even, as Python's round does.
    return bilinear(image, max(1, round(height * factor)), max(1, round(width * factor)))


def slide_logits(logits_of: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, window: int, stride: int, batch: int = 4) -> torch.Tensor:
    if window < 1 or stride < 1:
        raise ValueError(f"window {window} and stride {stride} must be positive")
    image = upsample_short_side(image, window)
    height, width = image.shape[2], image.shape[3]
    anchors = [(r, c) for r in starts(height, window, stride) for c in starts(width, window, stride)]
    total = None
    count = torch.zeros(1, 1, height, width, device=image.device)
    for first in range(0, len(anchors), batch):
        chunk = anchors[first:first + batch]
        crops = torch.cat([image[:, :, r:r + window, c:c + window] for r, c in chunk], 0)
        logits = logits_of(crops).float()
        if total is None:
            total = torch.zeros(1, logits.shape[1], height, width, device=image.device)
        for i, (r, c) in enumerate(chunk):
            total[:, :, r:r + window, c:c + window] += logits[i:i + 1]
            count[:, :, r:r + window, c:c + window] += 1
    return total / count


def logits(logits_of, image: torch.Tensor, options: InferenceOptions) -> torch.Tensor:
    """Logits [1, K, H, W] of a whole-image or sliding-window run over one normalised image [1, 3, H, W]."""
    if options.mode == "multiscale":
        raise ValueError("multi-scale inference averages probabilities, not logits: use probabilities()")
    source = rescale(image, options.test_short_side, 1.0)
    result = logits_of(source).float() if options.mode == "whole" else slide_logits(logits_of, source, options.window, options.stride, options.window_batch)
    return bilinear(result, image.shape[2], image.shape[3])


def probabilities(logits_of, image: torch.Tensor, options: InferenceOptions) -> torch.Tensor:
    """Class probabilities [1, K, H, W] for one normalised image [1, 3, H, W] at its size (call under torch.no_grad, model in eval mode)."""
    if image.dim() != 4 or image.shape[0] != 1:
        raise ValueError(f"expected one image [1, 3, H, W], got {list(image.shape)}")
    if options.mode != "multiscale":
        return logits(logits_of, image, options).softmax(1)
    height, width = image.shape[2], image.shape[3]
    total = None
    for scale in SCALES:
        source = rescale(image, options.test_short_side * scale if options.test_short_side is not None else None, scale)
        for flip in (False, True):
            result = slide_logits(logits_of, source.flip(3) if flip else source, options.window, options.stride, options.window_batch)
            result = bilinear(result, height, width)
            if flip:
                result = result.flip(3)
            p = result.softmax(1)
            total = p if total is None else total + p
    return total / (2 * len(SCALES))
