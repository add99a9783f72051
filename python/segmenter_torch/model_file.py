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
    return ModelFile(absolute, spec_dict, str(module.SPEC_TEXT), module.create_model)
