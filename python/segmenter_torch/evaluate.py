"""``python -m segmenter_torch.evaluate``: metrics of a checkpoint on a dataset split (as ``segmenter eval``).

Runs alone or under torchrun (images shared among the processes, confusion matrices all-reduced).
Prints the per-class table and aAcc / mIoU / mAcc ×100, or JSON with --json.
"""

import argparse
import json
import sys

import torch

from . import UserError, report_error
from . import amp as amp_modes
from .checkpoint import load_weights
from .data import open_dataset
from .distributed import initialise, shutdown
from .evaluation import evaluate
from .inference import check_sizes, InferenceOptions, parse_mode
from .model_file import load as load_model_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m segmenter_torch.evaluate",
                                description="Evaluate a checkpoint of a generated Segmenter model (model.py) on a dataset split.")
    p.add_argument("--model", required=True, help="the generated model file (model.py)")
    p.add_argument("--checkpoint", required=True, help="weights: a project checkpoint, safetensors, checkpoint.pth or mmsegmentation file")
    p.add_argument("--trust-pickle", action="store_true",
                   help="read a .pth file's pickled objects beyond tensors (this runs code from the file: only for files you trust)")
    p.add_argument("--data", required=True, help="the dataset folder")
    p.add_argument("--dataset", required=True, help="layout: ade20k, cityscapes, pascal-context or folder")
    p.add_argument("--split", default="val", help="the split (default val)")
    p.add_argument("--mode", default="slide", help="whole, slide or multiscale (default slide)")
    p.add_argument("--window", type=int, default=None, help="sliding window (default: the model's image size, its short side)")
    p.add_argument("--stride", type=int, default=None, help="sliding stride (default: 2/3 of the window)")
    p.add_argument("--test-size", type=int, default=None, help="rescale images to this short side first (long side at most 4x)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default auto)")
    p.add_argument("--amp", default="off", choices=amp_modes.MODES, help="autocast for the forward passes (default off)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    context = None
    try:
        try:
            mode = parse_mode(args.mode)
        except ValueError as error:
            raise UserError(str(error)) from None
        check_sizes(args)
        context = initialise(args.device)
        amp_modes.check(args.amp, context.device)
        model_file = load_model_file(args.model)
        spec = model_file.spec
        dataset = open_dataset(args.dataset, args.data, args.split)
        if dataset.num_classes != model_file.num_classes:
            raise UserError(f"the dataset has {dataset.num_classes} classes but {model_file.name} predicts {model_file.num_classes}")
        model = model_file.create_model()
        report = load_weights(model, args.checkpoint, spec, trust_pickle=args.trust_pickle)
        if report.warning() and context.is_main:
            print("warning: " + report.warning(), file=sys.stderr)
        model.to(context.device)
        amp_modes.guard_layer_norms(model, args.amp)
        window = args.window or min(int(spec["image"][0]), int(spec["image"][1]))
        options = InferenceOptions.for_window(mode, window, args.stride, args.test_size)
        metrics = evaluate(model, dataset, options, context, model_file.num_classes, model_file.mean, model_file.std,
                           dataset.class_names or model_file.class_names, args.amp)
        if context.is_main:
            if args.json:
                print(json.dumps(metrics.to_json()))
            else:
                print(report.summary())
                print(metrics.table())
        return 0
    except (UserError, OSError, MemoryError, RuntimeError) as error:   # other RuntimeErrors are re-raised by report_error
        return report_error(error)
    finally:
        if context is not None:
            shutdown(context)


if __name__ == "__main__":
    sys.exit(main())
