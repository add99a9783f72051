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
