"""Loading the generated ``model.py`` (``segmenter emit <model> --target pytorch --out model.py``).

The file is a self-contained module that needs only torch and defines:
``SPEC`` (the resolved spec, the JSON object ``SpecJson.Full`` writes), ``SPEC_TEXT`` (the spec as
.seg text) and ``create_model()`` (a freshly initialised ``torch.nn.Module`` whose ``forward(images)``
maps normalised images [B, 3, H, W] to logits [B, K, H, W] and whose state-dict keys are
``encoder.*`` / ``decoder.*`` as the .NET model's).
"""

import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict

import torch

from . import UserError
from .inference import MAXIMUM_SIZE   # the spec's image is the default training crop and sliding window

REQUIRED_SPEC_KEYS = ("name", "backbone", "patch", "image", "grid", "extraTokens", "classes", "classNames",
                      "decoder", "dropPath", "dropout", "normalization", "layerNormEpsilon", "positionEmbeddingResize")


@dataclass
class ModelFile:
    """A loaded model.py: its path, spec, spec text and factory."""

    path: str
    spec: Dict[str, Any]
    spec_text: str
    factory: Callable[[], torch.nn.Module]

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def num_classes(self) -> int:
        return int(self.spec["classes"])

    @property
    def class_names(self):
        return list(self.spec.get("classNames") or [f"class {i}" for i in range(self.num_classes)])

    @property
    def mean(self):
        return [float(v) for v in self.spec["normalization"]["mean"]]

    @property
    def std(self):
        return [float(v) for v in self.spec["normalization"]["std"]]

    def create_model(self) -> torch.nn.Module:
        model = self.factory()
        if not isinstance(model, torch.nn.Module):
            raise UserError(f"{self.path}: create_model() returned a {type(model).__name__}, not a torch.nn.Module")
        return model


def load(path: str) -> ModelFile:
    """Imports ``path`` as a module (under a name derived from its absolute path) and checks its contract."""
    if not os.path.isfile(path):
        raise UserError(f"model file '{path}' does not exist; write one with `segmenter emit <model> --target pytorch --out model.py`")
    absolute = os.path.abspath(path)
    module_name = "segmenter_model_" + hashlib.sha1(absolute.encode("utf-8")).hexdigest()[:12]
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        spec = importlib.util.spec_from_file_location(module_name, absolute)
        if spec is None or spec.loader is None:
            raise UserError(f"{path}: not a Python module that can be imported")
        module = importlib.util.module_from_spec(spec)
        # Registered before running so that pickling (DataLoader workers, torch.multiprocessing) finds the module's classes.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            del sys.modules[module_name]
            raise UserError(f"{path}: importing the model file failed: {type(error).__name__}: {error}") from error
    missing = [name for name in ("SPEC", "SPEC_TEXT", "create_model") if not hasattr(module, name)]
    if missing:
        raise UserError(f"{path}: not a generated model file: it lacks {', '.join(missing)} "
                        "(write one with `segmenter emit <model> --target pytorch --out model.py`)")
    spec_dict = module.SPEC
    if not isinstance(spec_dict, dict):
        raise UserError(f"{path}: SPEC must be a dict, not a {type(spec_dict).__name__}")
    lacking = [k for k in REQUIRED_SPEC_KEYS if k not in spec_dict]
    if lacking:
        raise UserError(f"{path}: SPEC lacks {', '.join(lacking)}; regenerate the file with the current compiler")
    _check_spec_values(path, spec_dict)
    return ModelFile(absolute, spec_dict, str(module.SPEC_TEXT), module.create_model)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_spec_values(path: str, spec: Dict[str, Any]) -> None:
    """The SPEC values the engine computes with, of the types and ranges the compiler writes (a hand-edited file otherwise
    fails far from its cause, or trains on a crop of 0)."""
    def refuse(what: str, value) -> None:
        raise UserError(f"{path}: SPEC's {what}, not {value!r}; regenerate the file with `segmenter emit <model> --target pytorch`")
    if not isinstance(spec["name"], str) or not spec["name"]:
        refuse("'name' must be a non-empty string", spec["name"])
    if not _whole(spec["classes"]) or not 1 <= spec["classes"] <= 65535:   # the spec language's range
        refuse("'classes' must be a whole number from 1 to 65535", spec["classes"])
    image = spec["image"]
    if not (isinstance(image, (list, tuple)) and len(image) == 2 and all(_whole(v) and 1 <= v <= MAXIMUM_SIZE for v in image)):
        refuse(f"'image' must be [height, width], whole numbers from 1 to {MAXIMUM_SIZE}", image)
    names = spec["classNames"]
    if names is not None and not (isinstance(names, (list, tuple)) and len(names) == spec["classes"] and all(isinstance(n, str) for n in names)):
        refuse(f"'classNames' must be null or {spec['classes']} strings", names)
    norm = spec["normalization"]
    if not (isinstance(norm, dict) and all(isinstance(norm.get(k), (list, tuple)) and len(norm[k]) == 3 and
                                           all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in norm[k]) for k in ("mean", "std"))):
        refuse("'normalization' must hold 'mean' and 'std', three numbers each", norm)
    if any(v <= 0 for v in norm["std"]):
        refuse("'normalization' std values must be positive", norm["std"])
