"""Mixed precision: --amp off|bf16|fp16 with torch.autocast (fp16 with a GradScaler, CUDA only)."""

import contextlib

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


def grad_scaler(mode: str, device: torch.device):
    """A GradScaler for fp16 on CUDA, None otherwise."""
    if mode != "fp16":
        return None
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        try:
            return torch.amp.GradScaler("cuda")
        except TypeError:
            pass
    return torch.cuda.amp.GradScaler()


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
