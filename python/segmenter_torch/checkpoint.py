"""Checkpoints in the project's format, training state as the .NET trainer stores it, and ``--init`` loading.

Project checkpoint (``ProjectCheckpoint.Save`` in C#): safetensors holding the model's state dict
(``encoder.*``, ``decoder.*``) with metadata ``format = "segmenter-dsl/2"``, ``model`` (the spec's
name), ``spec`` (the .seg text) and ``spec_json`` (the resolved spec as JSON).

Training checkpoint (``TrainingCheckpoint.Save``): the above plus the SGD momentum buffers as tensors
``optimizer.momentum_buffer.<parameter name>`` and the metadata ``training.iteration``,
``training.best_miou`` (``NaN`` before the first evaluation), ``training.best_iteration`` and the run's
recipe (``RECIPE_KEYS``: ``training.seed``, ``training.iterations``, ``training.batch_size``,
``training.accumulate``, ``training.lr``, ``training.crop``, …), which a resume continues with.
This engine adds ``training.engine = segmenter_torch`` (ignored by the .NET tools) and, with
``--amp fp16``, the GradScaler's ``training.amp_scale`` and ``training.amp_growth_tracker``.
"""

import json
import math
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F

from . import UserError
from . import safetensors_io

FORMAT_KEY, FORMAT_VALUE = "format", "segmenter-dsl/2"
MODEL_KEY, SPEC_KEY, SPEC_JSON_KEY = "model", "spec", "spec_json"
MOMENTUM_PREFIX = "optimizer.momentum_buffer."
TRAINING_PREFIX = "optimizer."

# Keys that are never weights of a generated model (the reference's unused classifier heads, mmsegmentation's auxiliary head).
UNUSED_HEADS = ("encoder.head.", "encoder.head_dist.", "encoder.fc_norm.", "encoder.pre_logits.", "auxiliary_head.")
NESTED_STATE_DICTS = ("model", "state_dict", "model_state", "module")


def spec_json_text(spec: Mapping) -> str:
    """The spec as the compact JSON ``spec_json`` holds."""
    return json.dumps(spec, separators=(",", ":"))


def project_metadata(spec: Mapping, spec_text: str) -> Dict[str, str]:
    """The metadata of a project checkpoint."""
    return {FORMAT_KEY: FORMAT_VALUE, MODEL_KEY: str(spec["name"]), SPEC_KEY: spec_text, SPEC_JSON_KEY: spec_json_text(spec)}


def save_project(path: str, state_dict: Mapping[str, torch.Tensor], spec: Mapping, spec_text: str,
                 extra_metadata: Optional[Mapping[str, str]] = None,
                 extra_tensors: Iterable[Tuple[str, torch.Tensor]] = ()) -> None:
    """Writes a project checkpoint atomically (call it on rank 0 only)."""
    metadata = project_metadata(spec, spec_text)
    metadata.update(extra_metadata or {})
    tensors = [(k, v) for k, v in state_dict.items()] + list(extra_tensors)
    safetensors_io.write(path, tensors, metadata)


def format_double(value: float) -> str:
    """A float as .NET's round-trip format reads it back ("NaN" for NaN)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


@dataclass
class TrainingState:
    """Where a run stands (TrainingState.cs): steps done, best validation mIoU (NaN if none) and its step."""

    iteration: int = 0
    best_miou: float = float("nan")
    best_iteration: int = 0


# The recipe a training checkpoint records, by option (RecordedRecipe.cs writes and reads the same keys): what a resumed
# run continues with where its command line does not say otherwise.
RECIPE_KEYS = {
    "iters": "training.iterations", "batch": "training.batch_size", "accumulate": "training.accumulate", "seed": "training.seed",
    "lr": "training.lr", "min_lr": "training.min_lr", "momentum": "training.momentum", "weight_decay": "training.weight_decay",
    "crop": "training.crop", "eval_every": "training.eval_every", "eval_mode": "training.eval_mode",
    "log_every": "training.log_every", "checkpoint_every": "training.checkpoint_every",
}


def training_metadata(state: TrainingState, recipe: Mapping[str, object]) -> Dict[str, str]:
    """The training-state and recipe metadata, exactly the keys TrainingCheckpoint.cs writes (plus the engine's name);
    ``recipe`` holds the resolved options by RECIPE_KEYS' names."""
    metadata = {
        "training.iteration": str(state.iteration),
        "training.best_miou": format_double(state.best_miou),
        "training.best_iteration": str(state.best_iteration),
        "training.engine": "segmenter_torch",
    }
    for name, key in RECIPE_KEYS.items():
        value = recipe[name]
        metadata[key] = format_double(value) if isinstance(value, float) else str(value)
    return metadata


def read_recipe(path: str) -> Dict[str, str]:
    """The metadata of the training checkpoint ``path`` (its header alone), for a resume's recipe; a UserError when the
    file is not a training checkpoint of this project."""
    try:
        metadata = safetensors_io.read_metadata(path)
    except safetensors_io.SafeTensorsError:
        metadata = {}
    _require_training_state(path, metadata)
    return metadata


def _require_training_state(path: str, metadata: Mapping[str, str]) -> None:
    if not metadata.get(FORMAT_KEY, "").startswith("segmenter-dsl/") or "training.iteration" not in metadata:
        raise UserError(f"{path}: not a training checkpoint of this project (no training state); use --init to start from weights instead")


# The range of the recipe's and the training state's whole numbers: both engines hold them as 32-bit integers (the .NET
# engine's options and RecordedRecipe are int), so a checkpoint either engine writes, the other resumes.
WHOLE_NUMBERS = (-2**31, 2**31 - 1)


def is_whole_number(value: int) -> bool:
    return WHOLE_NUMBERS[0] <= value <= WHOLE_NUMBERS[1]


@dataclass
class ResumePoint:
    """What a training checkpoint restores: the weights, the momentum buffers, the state and the seed."""

    weights: Dict[str, torch.Tensor]
    momentum: Dict[str, torch.Tensor]
    state: TrainingState
    seed: int
    metadata: Dict[str, str] = field(default_factory=dict)   # all of it (e.g. the GradScaler's state under training.amp_*)


def read_training_checkpoint(path: str, spec: Mapping, batch_size: int, accumulate: int) -> ResumePoint:
    """Reads a training checkpoint for ``--resume``; the batch size and accumulation must be the run's own."""
    tensors, metadata = _read_safetensors(path)
    _require_training_state(path, metadata)
    check_compatible(path, metadata, spec)

    def integer(key: str) -> int:
        text = metadata.get(key)
        try:
            value = int(text)
        except (TypeError, ValueError):
            value = None
        if value is None or not is_whole_number(value):
            found = "nothing" if text is None else f"'{text}'"
            raise UserError(f"{path}: the training state lacks a whole number under '{key}' (found {found}; both engines "
                            f"keep these as 32-bit numbers, {WHOLE_NUMBERS[0]} to {WHOLE_NUMBERS[1]}); the file is not a complete training checkpoint") from None
        return value

    for key, current, option in (("training.batch_size", batch_size, "--batch"), ("training.accumulate", accumulate, "--accumulate")):
        saved = 1 if key == "training.accumulate" and key not in metadata else integer(key)
        if saved != current:
            raise UserError(f"{path} was trained with {option} {saved}, but this run asks for {option} {current}; resume with {option} {saved}, or start a new run")
    try:
        best = float(metadata.get("training.best_miou", "nan"))
    except ValueError:
        best = float("nan")
    weights = {k: v for k, v in tensors.items() if not k.startswith(TRAINING_PREFIX)}
    momentum = {k[len(MOMENTUM_PREFIX):]: v for k, v in tensors.items() if k.startswith(MOMENTUM_PREFIX)}
    iteration = integer("training.iteration")
    if iteration < 0:
        raise UserError(f"{path}: its training state says step {iteration}; a run's step is 0 or more, so the file is damaged")
    state = TrainingState(iteration, best, integer("training.best_iteration"))
    return ResumePoint(weights, momentum, state, integer("training.seed"), dict(metadata))


def architecture_differences(stored: Mapping, wanted: Mapping) -> List[str]:
    """What differs between two specs in ways that change the weights or outputs (as ProjectCheckpoint.ArchitectureDifferences)."""
    differences = []

    def compare(what, a, b):
        if a != b:
            differences.append(f"{what} {a} in the file, {b} in the model")

    sb, wb = stored.get("backbone", {}), wanted.get("backbone", {})
    for key, what in (("layers", "layers"), ("width", "width"), ("heads", "heads"), ("mlpWidth", "MLP width"), ("distilled", "distilled")):
        compare(what, sb.get(key), wb.get(key))
    compare("patch", stored.get("patch"), wanted.get("patch"))
    compare("image", "x".join(map(str, stored.get("image", []))), "x".join(map(str, wanted.get("image", []))))
    compare("classes", stored.get("classes"), wanted.get("classes"))
    architecture = lambda d: {k: v for k, v in (d or {}).items() if k not in ("dropout", "dropPath")}
    if architecture(stored.get("decoder")) != architecture(wanted.get("decoder")):
        differences.append(f"decoder {architecture(stored.get('decoder'))} in the file, {architecture(wanted.get('decoder'))} in the model")
    compare("normalisation", (stored.get("normalization") or {}).get("name"), (wanted.get("normalization") or {}).get("name"))
    if not _close(stored.get("layerNormEpsilon"), wanted.get("layerNormEpsilon")):
        differences.append(f"LayerNorm epsilon {stored.get('layerNormEpsilon')} in the file, {wanted.get('layerNormEpsilon')} in the model")
    compare("position-embedding resize", stored.get("positionEmbeddingResize"), wanted.get("positionEmbeddingResize"))
    return differences


def _close(a, b) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-12)
    except (TypeError, ValueError):
        return a == b


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false", type(None): "null"}


def _require_spec_object(path: str, stored) -> None:
    """Refuses spec metadata whose parts are not the JSON types a spec's are (a damaged or hand-edited file)."""
    def refuse(what: str, value, expected: str) -> None:
        raise UserError(f"{path}: its '{SPEC_JSON_KEY}' metadata is not a spec: {what} is {_JSON_TYPES.get(type(value), type(value).__name__)}, "
                        f"where {expected} belongs; the file is damaged")
    if not isinstance(stored, dict):
        refuse("the whole", stored, "an object")
    for key in ("backbone", "decoder", "normalization"):
        if stored.get(key) is not None and not isinstance(stored[key], dict):
            refuse(f"'{key}'", stored[key], "an object")
    if stored.get("image") is not None and not isinstance(stored["image"], list):
        refuse("'image'", stored["image"], "an array")


def check_compatible(path: str, metadata: Mapping[str, str], spec: Mapping) -> None:
    """Refuses a project file whose spec describes another architecture than ``spec``."""
    text = metadata.get(SPEC_JSON_KEY)
    if text is None:
        return   # version 1: weights still load with the strict key and shape checks
    try:
        stored = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise UserError(f"{path}: its '{SPEC_JSON_KEY}' metadata is not valid JSON ({type(error).__name__}: {str(error)[:200]})") from None
    _require_spec_object(path, stored)
    differences = architecture_differences(stored, spec)
    if differences:
        raise UserError(f"{path} holds weights of model '{stored.get('name')}', whose architecture differs from '{spec['name']}': "
                        + "; ".join(differences) + f". Load it with the model it was saved from ('{stored.get('name')}'), or convert the weights.")


# ---------------------------------------------------------------------------------------------
# Reading any supported file (for --init and evaluate --checkpoint)


def _read_safetensors(path: str):
    try:
        return safetensors_io.read(path)
    except safetensors_io.SafeTensorsError as error:
        raise UserError(str(error)) from None


def _torch_load(path: str, trust_pickle: bool):
    """torch.load restricted to tensors and plain containers (nothing in the file runs); with ``trust_pickle``, unrestricted."""
    import pickle
    if trust_pickle:
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's restricted unpickler met an object beyond tensors and containers. Loading it unrestricted runs code
        # from the file, so that is never done unasked: the user opts in, or converts the file with the .NET CLI, whose
        # reader decodes the pickle without running anything.
        detail = (str(error).strip().splitlines() or [type(error).__name__])[-1][:200]
        raise UserError(f"{path} holds pickled Python objects beyond tensors and containers ({detail}); "
                        "reading them runs code from the file, so it is not done unasked: convert it with `segmenter convert` "
                        "(which reads it without running anything), or pass --trust-pickle if you trust its source") from None


def read_any(path: str, trust_pickle: bool = False) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Tensors and metadata of a safetensors file or a torch.save file (state dict at the top or under model/state_dict/…).
    A torch.save file is read with torch's restricted unpickler unless ``trust_pickle``."""
    import os
    if not os.path.isfile(path):
        raise UserError(f"checkpoint '{path}' does not exist")
    if safetensors_io.looks_like_safetensors(path):
        tensors, metadata = _read_safetensors(path)
    else:
        try:
            obj = _torch_load(path, trust_pickle)
        except UserError:
            raise
        except Exception as error:
            raise UserError(f"{path}: not a readable checkpoint (truncated or damaged?): expected a torch.save file (.pth/.pt) or a safetensors file "
                            f"({type(error).__name__}: {str(error).strip()[:300]})") from None
        tensors = _state_dict_of(obj, path)
        metadata = {}
    return _strip_wrapper_prefixes(tensors), metadata


# The prefixes wrappers put on every key: (Distributed)DataParallel's and torch.compile's.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def _strip_wrapper_prefixes(tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The keys without the prefixes that wrap every one of them, in any order and nesting (DDP of a compiled model, ...)."""
    while tensors:
        prefix = next((p for p in _WRAPPER_PREFIXES if all(k.startswith(p) for k in tensors)), None)
        if prefix is None:
            break
        tensors = {k[len(prefix):]: v for k, v in tensors.items()}
    return tensors


def _state_dict_of(obj, path: str) -> Dict[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors:
            return tensors
        for key in NESTED_STATE_DICTS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and any(isinstance(v, torch.Tensor) for v in inner.values()):
                return {k: v for k, v in inner.items() if isinstance(v, torch.Tensor)}
        keys = ", ".join(str(k) for k in list(obj)[:10])
        raise UserError(f"{path}: a torch.save file without a state dict: no tensors at the top level or under "
                        + ", ".join(f"'{k}'" for k in NESTED_STATE_DICTS) + f" (top-level keys: {keys})")
    raise UserError(f"{path}: a torch.save file holding a {type(obj).__name__}, not a state dict")


# Key conventions (KeyConventions.cs).
_MMSEG_RULES = [
    (r"^backbone\.patch_embed\.projection\.", "encoder.patch_embed.proj."),
    (r"^backbone\.(cls_token|pos_embed|dist_token)$", r"encoder.\1"),
    (r"^backbone\.ln1\.", "encoder.norm."),
    (r"^backbone\.layers\.(\d+)\.", r"encoder.blocks.\1."),
    (r"^decode_head\.layers\.(\d+)\.", r"decoder.blocks.\1."),
    (r"^decode_head\.dec_proj\.", "decoder.proj_dec."),
    (r"^decode_head\.cls_emb$", "decoder.cls_emb"),
    (r"^decode_head\.patch_proj\.weight$", "decoder.proj_patch"),
    (r"^decode_head\.classes_proj\.weight$", "decoder.proj_classes"),
    (r"^decode_head\.decoder_norm\.", "decoder.decoder_norm."),
    (r"^decode_head\.mask_norm\.", "decoder.mask_norm."),
    (r"^decode_head\.conv_seg\.", "decoder.head."),
]
_MMSEG_BLOCK_RULES = [
    (r"\.ln1\.", ".norm1."),
    (r"\.ln2\.", ".norm2."),
    (r"\.attn\.attn\.in_proj_(weight|bias)$", r".attn.qkv.\1"),
    (r"\.attn\.attn\.out_proj\.", ".attn.proj."),
    (r"\.ffn\.layers\.0\.0\.", ".mlp.fc1."),
    (r"\.ffn\.layers\.1\.", ".mlp.fc2."),
]


def detect_convention(keys: Iterable[str]) -> str:
    """'mmsegmentation', 'reference' or 'timm', judged by the keys' prefixes."""
    keys = list(keys)
    if any(k.startswith(("backbone.", "decode_head.")) for k in keys):
        return "mmsegmentation"
    if any(k.startswith(("encoder.", "decoder.")) for k in keys):
        return "reference"
    if any(k.startswith(("blocks.", "patch_embed.")) or k == "cls_token" for k in keys):
        return "timm"
    return "reference"


def to_reference(tensors: Mapping[str, torch.Tensor], convention: str) -> Dict[str, torch.Tensor]:
    """The tensors renamed (and for mmsegmentation reshaped) to the reference's keys."""
    if convention == "timm":
        return {"encoder." + k: v for k, v in tensors.items()}
    if convention != "mmsegmentation":
        return dict(tensors)
    result = {}
    for key, value in tensors.items():
        for pattern, replacement in _MMSEG_RULES:
            if re.search(pattern, key):
                key = re.sub(pattern, replacement, key)
                if key.startswith(("encoder.blocks.", "decoder.blocks.")):
                    for block_pattern, block_replacement in _MMSEG_BLOCK_RULES:
                        key = re.sub(block_pattern, block_replacement, key)
                break
        if key in ("decoder.proj_patch", "decoder.proj_classes"):
            value = value.t().contiguous()   # mmsegmentation keeps them as bias-free Linear layers
        if key == "decoder.head.weight" and value.dim() == 4:
            value = value.flatten(1)          # its linear decoder is a 1×1 convolution
        result[key] = value
    return result


def resize_position_embedding(value: torch.Tensor, target_shape, spec: Mapping) -> Tuple[torch.Tensor, Optional[str]]:
    """A position embedding of another (square) grid resized to the spec's, extra tokens kept; (value, note)."""
    if value.dim() != 3 or len(target_shape) != 3 or value.shape[2] != target_shape[2] or value.shape[1] == target_shape[1]:
        return value, None
    extra = int(spec["extraTokens"])
    tokens = value.shape[1] - extra
    side = int(round(math.sqrt(tokens))) if tokens > 0 else 0
    if tokens <= 0 or side * side != tokens:
        return value, None
    grid_h, grid_w = int(spec["grid"][0]), int(spec["grid"][1])
    mode = "bicubic" if spec.get("positionEmbeddingResize") == "bicubic" else "bilinear"
    grid = value[:, extra:].reshape(1, side, side, -1).permute(0, 3, 1, 2).float()
    grid = F.interpolate(grid, size=(grid_h, grid_w), mode=mode, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, -1).to(value.dtype)
    return torch.cat([value[:, :extra], grid], dim=1), f"encoder.pos_embed resized from a {side}×{side} grid to {grid_h}×{grid_w} ({mode})"


@dataclass
class LoadReport:
    """What a load did (as LoadReport.cs)."""

    path: str
    convention: str
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    non_finite: List[str] = field(default_factory=list)   # "key (3 of 768)": loaded tensors holding NaN or infinity

    def warning(self) -> Optional[str]:
        """A warning for people when weights are not finite (None when all are), as LoadReport.Warning."""
        if not self.non_finite:
            return None
        listed = ", ".join(self.non_finite[:3]) + (", …" if len(self.non_finite) > 3 else "")
        return (f"{self.path}: {len(self.non_finite)} of the {len(self.loaded)} tensors loaded hold NaN or infinite values ({listed}); "
                "logits, metrics and exports computed from these weights are not meaningful (a run that diverged, or a damaged file)")

    def summary(self) -> str:
        lines = [f"{self.path} ({self.convention} keys): {len(self.loaded)} loaded, {len(self.missing)} missing (allowed), {len(self.skipped)} skipped"]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def count_non_finite(value: torch.Tensor, dtype: torch.dtype) -> int:
    """How many values of ``value`` are NaN or infinite once in ``dtype``, the model's type (a float64 1e300 is finite,
    and infinite in float32); 0 for a tensor that is not floating point."""
    if not value.is_floating_point():
        return 0
    return int((~torch.isfinite(value.to(dtype))).sum())


def require_finite_weights(path: str, weights: Mapping[str, torch.Tensor], model: torch.nn.Module) -> None:
    """Refuses a training checkpoint whose weights hold NaN or infinite values: a run never saves them."""
    target = model.state_dict()
    bad = [f"{key} ({count} of {value.numel()})" for key, value in weights.items()
           if key in target and (count := count_non_finite(value, target[key].dtype))]
    if bad:
        raise UserError(f"{path}: {len(bad)} of the {len(weights)} tensors hold NaN or infinite values ({', '.join(bad[:3])}"
                        f"{', …' if len(bad) > 3 else ''}); a run never saves them, so it cannot continue from this file: "
                        "resume from an earlier checkpoint")


def load_weights(model: torch.nn.Module, path: str, spec: Mapping, allow_missing: Iterable[str] = (),
                 trust_pickle: bool = False) -> LoadReport:
    """Loads any supported file into ``model`` strictly and all-or-nothing.

    Unexpected keys, missing keys (except under ``allow_missing`` prefixes; timm files imply
    ``decoder.``) and shape mismatches are reported together and nothing is copied. A torch.save file holding pickled
    objects beyond tensors and containers is refused unless ``trust_pickle``.
    """
    tensors, metadata = read_any(path, trust_pickle)
    if metadata.get(FORMAT_KEY, "").startswith("segmenter-dsl/"):
        check_compatible(path, metadata, spec)
    convention = detect_convention(tensors)
    source = to_reference(tensors, convention)
    allow = list(allow_missing)
    if convention == "timm" and not allow:
        allow = ["decoder."]
    report = LoadReport(path, convention)
    target = model.state_dict()
    accepted, unexpected, mismatches, seen = {}, [], [], set()
    for key, value in source.items():
        if key.startswith(TRAINING_PREFIX):
            continue
        if key.startswith(UNUSED_HEADS):
            report.skipped.append(key)
            continue
        if key not in target:
            unexpected.append(key)
            continue
        seen.add(key)
        if target[key].is_floating_point() and not value.is_floating_point():
            raise UserError(f"{path}: tensor '{key}' is {value.dtype}, but the model's is {target[key].dtype}: weights are floating point, "
                            "so the file is damaged or holds something else (the model is unchanged)")
        if key == "encoder.pos_embed":
            value, note = resize_position_embedding(value, tuple(target[key].shape), spec)
            if note:
                report.notes.append(note)
        if tuple(value.shape) != tuple(target[key].shape):
            mismatches.append(f"{key}: {list(value.shape)} in the file, {list(target[key].shape)} in the model")
            continue
        accepted[key] = value
        report.loaded.append(key)
        bad = count_non_finite(value, target[key].dtype)
        if bad:
            report.non_finite.append(f"{key} ({bad} of {value.numel()})")
    report.missing = [k for k in target if k not in seen]
    not_allowed = [k for k in report.missing if not any(k.startswith(p) for p in allow)]
    if unexpected or not_allowed or mismatches:
        problems = []
        if not_allowed:
            problems.append(f"{len(not_allowed)} missing ({', '.join(not_allowed[:8])}{', …' if len(not_allowed) > 8 else ''})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected ({', '.join(unexpected[:8])}{', …' if len(unexpected) > 8 else ''})")
        if mismatches:
            problems.append(f"{len(mismatches)} shape mismatches ({'; '.join(mismatches[:5])})")
        hint = " (starting from backbone-only weights? the decoder may be missing: that is allowed only for timm-style files)" if not_allowed else ""
        raise UserError(f"{path} ({convention} keys) does not fit {spec['name']}: " + "; ".join(problems) + hint + "; the model was left unchanged")
    with torch.no_grad():
        params = dict(model.named_parameters())
        buffers = dict(model.named_buffers())
        for key, value in accepted.items():
            destination = params.get(key, buffers.get(key))
            if destination is None:   # a state-dict entry that is neither (rare): fall back to load_state_dict
                model.load_state_dict({key: value}, strict=False)
            else:
                destination.copy_(value.to(destination.dtype))
    return report
