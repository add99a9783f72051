"""Mixed precision: --amp off|bf16|fp16 with torch.autocast (fp16 with a GradScaler, CUDA only)."""

import contextlib
import math
from typing import Dict, Mapping

import torch

from . import UserError

MODES = ("off", "bf16", "fp16")


def check(mode: str, device: torch.device) -> None:
    if mode not in MODES:
        raise UserError(f"--amp {mode}: use off, bf16 or fp16")
    if mode == "fp16" and device.type != "cuda":
        raise UserError("--amp fp16 needs a CUDA device (float16 autocast and its GradScaler); on the CPU use --amp bf16")
    if mode != "off" and not hasattr(torch, "autocast"):
        raise UserError(f"--amp {mode}: this torch ({torch.__version__}) has no torch.autocast; use --amp off")


def autocast(mode: str, device: torch.device):
    """The autocast context of a forward pass (a no-op context for off)."""
    if mode == "off":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if mode == "bf16" else torch.float16)


def grad_scaler(mode: str, device: torch.device, sharded: bool = False):
    """A GradScaler for fp16 on CUDA, None otherwise; with FSDP (``sharded``) the ShardedGradScaler.

    FSDP's gradients are shards: the plain GradScaler's inf/NaN check would see this rank's shard
    only, and ranks could disagree on skipping a step. ShardedGradScaler all-reduces the check.
    """
    if mode != "fp16":
        return None
    if sharded:
        try:
            from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler
        except Exception:   # absent, or (Debian's torch 1.13 on Python 3.11) failing to import: feature detection
            raise UserError(f"--amp fp16 with --strategy fsdp needs torch.distributed.fsdp.sharded_grad_scaler, which this torch "
                            f"({torch.__version__}) lacks; use --amp bf16 or --strategy ddp") from None
        return ShardedGradScaler()
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        try:
            return torch.amp.GradScaler("cuda")
        except TypeError:
            pass
    return torch.cuda.amp.GradScaler()


SCALE_KEY, GROWTH_TRACKER_KEY = "training.amp_scale", "training.amp_growth_tracker"


def scaler_metadata(scaler) -> Dict[str, str]:
    """The GradScaler's changing state (its scale and growth tracker) as checkpoint metadata; empty without one."""
    state = scaler.state_dict() if scaler is not None else {}
    if "scale" not in state:   # no scaler, or a disabled one
        return {}
    return {SCALE_KEY: repr(float(state["scale"])), GROWTH_TRACKER_KEY: str(int(state["_growth_tracker"]))}


def restore_scaler(scaler, metadata: Mapping[str, str], source: str) -> bool:
    """Gives ``scaler`` the scale and growth tracker saved in ``metadata``; False when there are none (or no scaler).

    A run resumed with another --amp than it was saved with starts a fresh scaler (nothing to restore).
    """
    if scaler is None or SCALE_KEY not in metadata:
        return False
    state = scaler.state_dict()
    if "scale" not in state:
        return False
    try:
        scale, tracker = float(metadata[SCALE_KEY]), int(metadata.get(GROWTH_TRACKER_KEY, "0"))
    except ValueError:
        raise UserError(f"{source}: the metadata '{SCALE_KEY}' = {metadata.get(SCALE_KEY)!r} / '{GROWTH_TRACKER_KEY}' = "
                        f"{metadata.get(GROWTH_TRACKER_KEY)!r} is not a GradScaler state") from None
    if not (math.isfinite(scale) and scale > 0) or tracker < 0:
        raise UserError(f"{source}: the saved GradScaler scale {scale} or growth tracker {tracker} is out of range")
    state.update(scale=scale, _growth_tracker=tracker)
    scaler.load_state_dict(state)
    return True


def _layer_norm_in_float(module, inputs):
    (x, *rest) = inputs
    if torch.is_floating_point(x) and module.weight is not None and x.dtype != module.weight.dtype:
        return (x.to(module.weight.dtype), *rest)
    return None


def guard_layer_norms(model: torch.nn.Module, mode: str) -> int:
    """Makes LayerNorms take their input in their weights' dtype under autocast.

    CUDA autocast runs layer_norm in float32, but torch 1.13's CPU autocast does not, and a
    LayerNorm fed a bfloat16 activation with float32 weights then fails ("expected scalar type
    BFloat16 but found Float"); casting the input up is what CUDA autocast does. Returns the number of
    LayerNorms guarded (none for --amp off).
    """
    if mode == "off":
        return 0
    count = 0
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.register_forward_pre_hook(_layer_norm_in_float)
            count += 1
    return count
