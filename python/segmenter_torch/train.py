"""``python -m segmenter_torch.train``: the paper's recipe on PyTorch's distributed engine.

Run it directly (one process) or under torchrun (one process per device); see python/README.md.
The recipe is the .NET trainer's (Trainer.cs, docs/training.md): SGD with Nesterov momentum 0.9,
the poly schedule per step, cross-entropy on the upsampled logits ignoring 255, gradient
accumulation, drop-path/dropout in training only, mmsegmentation's augmentation, periodic
evaluation keeping the best checkpoint, and an exact resume.

--batch is the GLOBAL batch: each of W processes takes B/W samples of the same global batch, and the
loss is the sum of per-pixel losses over the global batch divided by its labelled pixels (the
label count is all-reduced), so W processes compute the gradient one process would, up to
floating-point order.
"""

import argparse
import json
import math
import os
import signal
import sys
import time
from typing import List, Optional

import torch
import torch.nn.functional as F

from . import UserError, report_error, __version__
from . import amp as amp_modes
from .augment import AugmentationOptions
from .batches import TrainingSamples, training_loader
from .checkpoint import (MOMENTUM_PREFIX, RECIPE_KEYS, WHOLE_NUMBERS, TrainingState, is_whole_number, load_weights, read_recipe,
                         read_training_checkpoint, require_finite_weights, save_project, training_metadata)
from .data import IGNORE, open_dataset, parse_layout
from .distributed import Context, agree, all_reduce_sum, from_main, full_state, gather_lines, initialise, is_fsdp, load_momentum, shutdown, wrap
from .evaluation import evaluate
from .inference import MAXIMUM_SIZE, check_sizes, check_stride, InferenceOptions, parse_mode
from .logs import RunLog, write_config
from .model_file import ModelFile, load as load_model_file
from .run_lock import hold_run_folder, release_run_folders
from .schedule import make_optimizer, poly_lr
from .seeds import mix

DROPOUT_SALT = 0xD20F
INIT_SALT = 0x1A17


def skipped_report(count: int, reasons: List[str], shown: int = 10) -> str:
    """How many samples were skipped and why (each distinct error, naming its file; the first ten), as the .NET CLI says it."""
    lines = [f"{count} unreadable {'sample was' if count == 1 else 'samples were'} skipped, for {len(reasons)} "
             f"{'error' if len(reasons) == 1 else 'errors'}:"]
    lines += [f"  {reason}" for reason in reasons[:shown]]
    if len(reasons) > shown:
        lines.append(f"  … and {len(reasons) - shown} more")
    return "\n".join(lines)


class TrainingError(UserError):
    """Training cannot go on (a non-finite loss); the last finite checkpoint is kept."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m segmenter_torch.train",
                                description="Train a generated Segmenter model (model.py) with the paper's recipe on PyTorch (torchrun, DDP, FSDP, AMP).")
    p.add_argument("--model", required=True, help="the generated model file (segmenter emit <model> --target pytorch --out model.py)")
    p.add_argument("--data", required=True, help="the dataset folder")
    p.add_argument("--dataset", required=True, help="layout: ade20k, cityscapes, pascal-context or folder")
    p.add_argument("--iters", type=int, default=None, help="optimiser steps (default 1000)")
    p.add_argument("--batch", type=int, default=None, help="GLOBAL images per forward pass, split evenly over the processes (default 8)")
    p.add_argument("--accumulate", type=int, default=None, help="forward/backward passes per step, gradients summed (default 1)")
    p.add_argument("--lr", type=float, default=None, help="base learning rate of the poly schedule (default 1e-3)")
    p.add_argument("--min-lr", type=float, default=None, help="the schedule's floor (default 1e-5)")
    p.add_argument("--momentum", type=float, default=None, help="Nesterov momentum (default 0.9)")
    p.add_argument("--weight-decay", type=float, default=None, help="SGD weight decay (default 0)")
    p.add_argument("--crop", type=int, default=None, help="training crop size S (default: the model's image size, its short side)")
    p.add_argument("--eval-every", type=int, default=None, help="evaluate every N steps (0: at the end only)")
    p.add_argument("--eval-mode", default=None, help="whole, slide or multiscale (default slide)")
    p.add_argument("--window", type=int, default=None, help="sliding window (default: the crop size)")
    p.add_argument("--stride", type=int, default=None, help="sliding stride (default: 2/3 of the window)")
    p.add_argument("--test-size", type=int, default=None, help="rescale validation images to this short side first")
    p.add_argument("--checkpoint-every", type=int, default=None, help="write last.safetensors every N steps (default 500)")
    p.add_argument("--log-every", type=int, default=None, help="a metrics.jsonl line (and a progress line) every N steps (default 1)")
    p.add_argument("--out", default=None, help="folder for checkpoints and logs (default runs/segmenter; resuming F: F's folder)")
    p.add_argument("--resume", nargs="?", const="", default=None, metavar="F",
                   help="continue from a training checkpoint (default: OUT/last.safetensors), with the run's recipe for the options left out")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh even if OUT holds a run's checkpoints (they are replaced); without it such a run is refused")
    p.add_argument("--init", default=None, metavar="F", help="initial weights: timm/DeiT ViT weights, checkpoint.pth, mmsegmentation, safetensors or project files")
    p.add_argument("--trust-pickle", action="store_true",
                   help="read an --init .pth file's pickled objects beyond tensors (this runs code from the file: only for files you trust)")
    p.add_argument("--seed", type=int, default=None, help="seed of the initialisation, data order, augmentation and dropout (default 0)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers per process (default 2; 0: in the training process)")
    p.add_argument("--skip-bad-samples", action="store_true", help="use the next sample in place of an unreadable one, counting them")
    p.add_argument("--train-split", default="train", help="training split (default train)")
    p.add_argument("--val-split", default="val", help="validation split, or none (default val)")
    p.add_argument("--strategy", default="ddp", choices=("ddp", "fsdp"), help="data parallelism with several processes (default ddp; fsdp needs torch ≥ 2)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default auto)")
    p.add_argument("--amp", default="off", choices=amp_modes.MODES, help="mixed precision: off, bf16 or fp16 (CUDA) (default off)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per process (torch.set_num_threads)")
    return p


# The recipe options, by argparse name: the default where neither the command line nor a resumed run gives one (None:
# the model's, for the crop), and whether a resume must keep the run's value (with another, the data order would not
# continue where the run stopped). Their checkpoint keys are checkpoint.RECIPE_KEYS; RecordedRecipe.cs does the same.
RECIPE = {
    "iters": (1000, int, False), "batch": (8, int, True), "accumulate": (1, int, True), "seed": (0, int, True),
    "lr": (1e-3, float, False), "min_lr": (1e-5, float, False), "momentum": (0.9, float, False), "weight_decay": (0.0, float, False),
    "crop": (None, int, False), "eval_every": (0, int, False), "eval_mode": ("slide", parse_mode, False),
    "log_every": (1, int, False), "checkpoint_every": (500, int, False),
}
DEFAULT_OUT = "runs/segmenter"


def resolve_recipe(args) -> List[str]:
    """Fills ``args``' recipe options and ``--out``. Resuming, the run continues: from a named checkpoint in that
    checkpoint's folder unless ``--out`` says otherwise, and each recipe option left out is the run's own (from the
    checkpoint's metadata); one given is used as given, except those a resume must keep. Otherwise the defaults.
    Returns what a resume should say (the options taken from the run, those changed)."""
    if args.out is None:
        args.out = os.path.dirname(os.path.abspath(args.resume)) if args.resume else DEFAULT_OUT
    recorded, path = {}, None
    if args.resume is not None:
        path = args.resume or os.path.join(args.out, "last.safetensors")
        if not os.path.isfile(path):
            raise UserError(f"nothing to resume: {path} does not exist")
        recorded = read_recipe(path)
    taken, changed = [], []
    for name, (default, kind, fixed) in RECIPE.items():
        flag, given = "--" + name.replace("_", "-"), getattr(args, name)
        text = recorded.get(RECIPE_KEYS[name])
        try:
            saved = kind(text) if text is not None else None
        except ValueError:
            if kind is not parse_mode:
                raise UserError(f"{path}: the recipe's '{RECIPE_KEYS[name]}' is '{text}', not a {'whole' if kind is int else 'finite'} number: "
                                "the file is damaged, so the run's recipe cannot be continued") from None
            saved = None   # an evaluation mode this version does not know: as if not recorded
        if kind is int and saved is not None and not is_whole_number(saved):
            raise UserError(f"{path}: the recipe's '{RECIPE_KEYS[name]}' is '{text}', beyond the 32-bit whole numbers both engines keep "
                            f"({WHOLE_NUMBERS[0]} to {WHOLE_NUMBERS[1]}): the file is damaged, so the run's recipe cannot be continued")
        if isinstance(saved, float) and not math.isfinite(saved):
            raise UserError(f"{path}: the recipe's '{RECIPE_KEYS[name]}' is '{text}', not a finite number: "
                            "the file is damaged, so the run's recipe cannot be continued")
        if given is None:
            if saved is not None and saved != default:
                taken.append(f"{flag} {saved:g}" if isinstance(saved, float) else f"{flag} {saved}")
            setattr(args, name, saved if saved is not None else default)
        elif saved is not None and (kind(given) if kind is parse_mode else given) != saved:
            if fixed:
                raise UserError(f"{path} was trained with {flag} {saved}, but this run asks for {flag} {given}; "
                                f"resume with {flag} {saved} (or leave it out), or start a new run")
            changed.append(f"{flag} {given:g} (the run's: {saved:g})" if isinstance(saved, float) else f"{flag} {given} (the run's: {saved})")
    notes = []
    if taken:
        notes.append(f"the run's recipe, from {path}: {', '.join(taken)}")
    if changed:
        notes.append(f"changed from here on: {', '.join(changed)}")
    return notes


# The largest float32 (the optimiser's arithmetic) and the largest training crop (as TrainingOptions.MaximumCropSize in C#).
FLOAT32_MAX = 3.4028234663852886e38
MAXIMUM_CROP = MAXIMUM_SIZE


def check_batch_of_crops(batch: int, crop: int) -> None:
    """A forward pass's images are one array of at most 2^31 values (TrainingOptions.Validate's rule in C#)."""
    if batch * 3 * crop * crop > 2 ** 31 - 1:
        raise UserError(f"--batch {batch} of {crop}x{crop} crops: a forward pass's images are one array of at most 2^31 values; "
                        "give a smaller --batch and --accumulate more passes")


def check_options(args) -> None:
    """Every option's range, before anything is read or written (the crop-dependent window is checked by the Trainer);
    a recipe option not yet resolved (None) is checked once resolve_recipe has filled it."""
    def given(name):
        return getattr(args, name) is not None

    for name, (_, kind, _) in RECIPE.items():
        if kind is int and given(name) and not is_whole_number(getattr(args, name)):
            raise UserError(f"--{name.replace('_', '-')} must be a whole number from {WHOLE_NUMBERS[0]} to {WHOLE_NUMBERS[1]} "
                            f"(32 bits, as the .NET engine's), not {getattr(args, name)}")
    for name in ("iters", "batch", "accumulate", "checkpoint_every", "log_every"):
        if given(name) and getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(args, name)}")
    check_sizes(args)
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads must be at least 1, not {args.threads}")
    if args.window is not None:
        check_stride(args.window, args.stride)
    for name in ("momentum", "weight_decay", "min_lr"):
        value = getattr(args, name)
        if given(name) and not (math.isfinite(value) and 0 <= value <= FLOAT32_MAX):
            raise UserError(f"--{name.replace('_', '-')} must be a number from 0 to {FLOAT32_MAX:.4g} (float32's largest), not {value}")
    if given("momentum") and args.momentum >= 1:
        raise UserError(f"--momentum must be below 1 (momentum of 1 or more makes every step larger than the last), not {args.momentum}")
    if given("eval_every") and args.eval_every < 0:
        raise UserError(f"--eval-every must be at least 0, not {args.eval_every}")
    if args.crop is not None and not 1 <= args.crop <= MAXIMUM_CROP:
        raise UserError(f"--crop must be from 1 to {MAXIMUM_CROP} pixels, not {args.crop}")
    if args.crop is not None and given("batch"):
        check_batch_of_crops(args.batch, args.crop)
    if args.workers < 0:
        raise UserError(f"--workers must be at least 0, not {args.workers}")
    if given("lr") and not (math.isfinite(args.lr) and 0 < args.lr <= FLOAT32_MAX):
        raise UserError(f"--lr must be a positive number up to {FLOAT32_MAX:.4g} (float32's largest), not {args.lr}")
    if given("eval_mode"):
        try:
            args.eval_mode = parse_mode(args.eval_mode)
        except ValueError as error:
            raise UserError(str(error)) from None


def refuse_existing_run(out: str, resume_path: Optional[str]) -> None:
    """A UserError if ``out`` holds a run's checkpoints that this run would replace: any, for a new run; for one resumed
    from ``resume_path``, those of another run (a checkpoint outside the folder). As Trainer.RefuseExistingRun in C#."""
    run_folder = None if resume_path is None else os.path.dirname(os.path.abspath(resume_path))
    if run_folder is not None and run_folder == os.path.abspath(out):
        return   # the run continues in its own folder
    existing = [name for name in ("last.safetensors", "best.safetensors") if os.path.exists(os.path.join(out, name))]
    if not existing:
        return
    if resume_path is None:
        raise UserError(f"{out} already holds a training run ({', '.join(existing)}); continue it with --resume, "
                        f"train into another --out folder, or pass --overwrite to start afresh and replace it")
    raise UserError(f"{out} already holds another training run ({', '.join(existing)}), which resuming {resume_path} there would replace; "
                    f"resume into the checkpoint's own folder {run_folder} (leave out --out), train into another --out folder, "
                    f"or pass --overwrite to replace it")


class Trainer:
    """One process's part of a training run."""

    def __init__(self, args, context: Context):
        self.args, self.context = args, context
        self.stop_requested = False
        error = None
        try:
            self._open()
        except UserError as failure:
            error = failure
        agree(error, context)   # a file missing on one machine's disk stops every process, not only that one

    def _open(self) -> None:
        """Reads the model file and the datasets and checks the output folder and the files to resume (on this process)."""
        args, context = self.args, self.context
        notes = resolve_recipe(args)
        check_options(args)
        self.model_file: ModelFile = load_model_file(args.model)
        spec = self.model_file.spec
        self.crop = args.crop or min(int(spec["image"][0]), int(spec["image"][1]))
        check_batch_of_crops(args.batch, self.crop)   # the crop the spec gives, when --crop is left out
        check_stride(self.inference_options().window, args.stride)
        if args.batch % context.world_size:
            raise UserError(f"--batch {args.batch} is the global batch and must be divisible by the {context.world_size} processes "
                            f"(e.g. --batch {max(context.world_size, args.batch // context.world_size * context.world_size)})")
        amp_modes.check(args.amp, context.device)
        layout = parse_layout(args.dataset)
        self.train_set = open_dataset(layout, args.data, args.train_split)
        self.val_set = None if args.val_split is None or args.val_split.lower() == "none" else open_dataset(layout, args.data, args.val_split)
        if self.train_set.num_classes != self.model_file.num_classes:
            raise UserError(f"the dataset has {self.train_set.num_classes} classes but {self.model_file.name} predicts {self.model_file.num_classes}; "
                            f"use a model whose 'classes' match the dataset (e.g. a spec with classes = {self.train_set.num_classes})")
        self.out = args.out
        self.last_path = os.path.join(self.out, "last.safetensors")
        self.best_path = os.path.join(self.out, "best.safetensors")
        self.resume_path: Optional[str] = None if args.resume is None else args.resume or self.last_path
        if context.is_main:
            self._check_output_folder()
            hold_run_folder(self.out)   # held until main() returns, or the process ends however it ends
        if not args.overwrite:
            refuse_existing_run(self.out, self.resume_path)
        for note in notes:
            self.note(note)

    def _check_output_folder(self) -> None:
        """--out must be a folder this process can create and write (rank 0 alone writes there)."""
        out = self.out
        if os.path.exists(out) and not os.path.isdir(out):
            raise UserError(f"--out {out}: this is a file, not a folder; name a folder for the run")
        try:
            os.makedirs(out, exist_ok=True)
        except OSError as error:
            raise UserError(f"--out {out}: cannot create the folder ({error.strerror or error})") from None
        if not os.access(out, os.W_OK | os.X_OK):
            raise UserError(f"--out {out}: the folder is not writable")

    def _write(self, path: str, write) -> Optional[UserError]:
        """Runs ``write`` (a file write on rank 0); an OSError (disk full, permission) becomes the UserError returned."""
        try:
            write()
        except OSError as error:
            return UserError(f"cannot write {path}: {error.strerror or error}")
        return None

    # -- setup ---------------------------------------------------------------------------------

    def _build(self):
        args, context, spec = self.args, self.context, self.model_file.spec
        torch.manual_seed(mix(args.seed, INIT_SALT))   # the initialisation, too, is a function of the seed
        model = self.model_file.create_model()
        self.state = TrainingState()
        self.seed = args.seed
        self.resume_metadata = {}
        momentum = {}
        error = None
        try:
            model, momentum = self._load(model)
        except UserError as failure:
            error = failure
        agree(error, context)   # before wrap(), whose collectives a failed process would never reach
        model.to(context.device)
        amp_modes.guard_layer_norms(model, args.amp)
        self.model = wrap(model, args.strategy, context)
        self.optimizer = make_optimizer(self.model.parameters(), args.lr, args.momentum, args.weight_decay)
        if momentum:
            load_momentum(self.model, self.optimizer, {k: v.to(context.device) for k, v in momentum.items()}, self.resume_path)
        self.scaler = amp_modes.grad_scaler(args.amp, context.device, sharded=is_fsdp(self.model))
        if amp_modes.restore_scaler(self.scaler, self.resume_metadata, self.resume_path):
            self.note(f"GradScaler restored: scale {self.scaler.state_dict()['scale']}")

    def _load(self, model):
        """The resumed or --init weights into ``model``; returns (model, momentum buffers by parameter name)."""
        args, spec = self.args, self.model_file.spec
        momentum = {}
        if self.resume_path is not None:
            point = read_training_checkpoint(self.resume_path, spec, args.batch, args.accumulate)
            require_finite_weights(self.resume_path, point.weights, model)
            try:
                model.load_state_dict(point.weights, strict=True)
            except RuntimeError as error:
                raise UserError(f"{self.resume_path}: the weights do not fit {self.model_file.name}: {error}") from None
            self.state, self.seed, momentum, self.resume_metadata = point.state, point.seed, point.momentum, point.metadata
            past = (f": --iters {args.iters} is reached, so no step is taken; give a larger --iters to train on"
                    if self.state.iteration >= args.iters else "")
            self.note(f"resumed from {self.resume_path} at step {self.state.iteration} (seed {self.seed})" + past)
        elif args.init:
            report = load_weights(model, args.init, spec, trust_pickle=args.trust_pickle)
            if report.warning():
                raise UserError(report.warning() + "; training cannot start from them")
            self.note("initialised: " + report.summary())
        return model, momentum

    def note(self, text: str) -> None:
        if self.context.is_main:
            print(text, flush=True)

    def config(self) -> dict:
        resolved = {k: v for k, v in vars(self.args).items()}
        resolved.update({"crop": self.crop, "seed": self.seed, "world_size": self.context.world_size, "device": str(self.context.device),
                         "per_process_batch": self.args.batch // self.context.world_size, "model_name": self.model_file.name,
                         "model_file": self.model_file.path, "spec": self.model_file.spec, "resume": self.resume_path,
                         "train_samples": len(self.train_set), "val_samples": len(self.val_set) if self.val_set else 0,
                         "torch": torch.__version__, "engine": f"segmenter_torch {__version__}",
                         "eval": {"mode": self.args.eval_mode, "window": self.inference_options().window, "stride": self.inference_options().stride,
                                  "test_size": self.args.test_size}})
        return resolved

    def inference_options(self) -> InferenceOptions:
        window = self.args.window if self.args.window is not None else self.crop
        return InferenceOptions.for_window(self.args.eval_mode, window, self.args.stride, self.args.test_size)

    # -- checkpoints ---------------------------------------------------------------------------

    def save(self, path: str) -> None:
        """Every process takes part (FSDP gathers); rank 0 writes atomically."""
        weights, momentum = full_state(self.model, self.optimizer)
        # Rank 0 holds the full weights; every rank learns whether they are finite, so all stop together.
        broken = [k for k, v in weights.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())] if self.context.is_main else []
        flag = all_reduce_sum(torch.tensor([float(len(broken))], device=self.context.device), self.context)
        if float(flag[0]) > 0:
            names = f" ({', '.join(broken[:3])})" if broken else ""
            raise TrainingError(f"the weights became non-finite by step {self.state.iteration}{names}; "
                                f"not overwriting {path}, which keeps the last finite state; try a lower --lr or --amp off")
        error = None
        if self.context.is_main:
            metadata = training_metadata(self.state, {**{name: getattr(self.args, name) for name in RECIPE}, "seed": self.seed, "crop": self.crop})
            metadata.update(amp_modes.scaler_metadata(self.scaler))   # fp16: the scale, so that a resume is exact
            extra = [(MOMENTUM_PREFIX + name, value) for name, value in momentum.items()]
            error = self._write(path, lambda: save_project(path, weights, self.model_file.spec, self.model_file.spec_text, metadata, extra))
        agree(error, self.context)   # the barrier: a failed write on rank 0 stops every rank

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> dict:
        args, context = self.args, self.context
        self._build()
        error = None
        if context.is_main:
            error = self._write(os.path.join(self.out, "config.json"), lambda: write_config(self.out, self.config()))
        agree(error, context)
        log = RunLog(self.out) if context.is_main else None
        if log is not None:
            log.start(self.state.iteration)
        samples = TrainingSamples(self.train_set, AugmentationOptions(self.crop), self.model_file.mean, self.model_file.std,
                                  self.seed, args.batch, args.skip_bad_samples)
        loader = iter(training_loader(samples, self.state.iteration * args.accumulate, context.rank, context.world_size, args.workers))
        previous_handler = signal.signal(signal.SIGINT, self._on_interrupt)   # every rank: the stop flag is all-reduced each step
        started_at, clock = self.state.iteration, time.time()
        skipped_total, last_metrics, losses, self.skip_reasons = 0, None, [], []
        try:
            while self.state.iteration < args.iters:
                iteration = self.state.iteration
                loss, skipped, stop = self._step(loader, iteration)
                skipped_total += skipped
                if not math.isfinite(loss):
                    raise TrainingError(f"the loss became {loss} at step {iteration + 1}; stopping without writing a checkpoint "
                                        f"(the last finite one is {self.last_path if os.path.isfile(self.last_path) else 'none yet'}); "
                                        "try a lower --lr, --amp off, or check the data")
                self.state.iteration = iteration + 1
                losses.append(loss)
                agree(self._write(log.path, lambda: self._log_step(log, loss, poly_lr(iteration, args.lr, args.iters, args.min_lr),
                                                                    started_at, clock)) if log else None, context)
                last = self.state.iteration == args.iters
                checkpoint = last or self.state.iteration % args.checkpoint_every == 0
                if checkpoint:   # before evaluating: an evaluation that fails must not lose the trained weights
                    self.save(self.last_path)
                    self.note(f"checkpoint at step {self.state.iteration}: {self.last_path}")
                if self.val_set is not None and (last or (args.eval_every > 0 and self.state.iteration % args.eval_every == 0)):
                    last_metrics = self._evaluate(log)
                    # Rank 0's mIoU decides for every rank (FSDP ranks evaluate unreduced, and save() is collective).
                    miou = from_main(last_metrics.mean_iou, context)
                    if math.isnan(self.state.best_miou) or miou > self.state.best_miou:
                        self.state.best_miou, self.state.best_iteration = miou, self.state.iteration
                        self.save(self.best_path)
                        self.note(f"best mIoU {100 * miou:.2f} at step {self.state.iteration}: {self.best_path}")
                        if checkpoint:   # last.safetensors again, now with the new best in its training state
                            self.save(self.last_path)
                if stop and not last:
                    self.save(self.last_path)
                    self.note(f"interrupted: checkpoint at step {self.state.iteration}: {self.last_path} (continue with --resume)")
                    break
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
            if log is not None:
                log.close()
        if skipped_total:
            self.note(skipped_report(skipped_total, self.skip_reasons))
        return {"iteration": self.state.iteration, "losses": losses, "best_miou": self.state.best_miou,
                "metrics": last_metrics.to_json() if last_metrics else None, "skipped": skipped_total,
                "skip_reasons": self.skip_reasons}

    def _on_interrupt(self, *_):
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True
        if self.context.is_main:
                print("interrupt: finishing the step, then writing the checkpoint (Ctrl-C again to abort)", flush=True)

    def _step(self, loader, iteration: int):
        """One optimiser step over ``accumulate`` global batches; returns (loss as the .NET trainer logs it, samples skipped by all processes, stop?)."""
        args, context = self.args, self.context
        lr = poly_lr(iteration, args.lr, args.iters, args.min_lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        torch.manual_seed(mix(self.seed, iteration, DROPOUT_SALT, context.rank))   # dropout and drop-path masks: a function of the step
        self.model.train()
        self.optimizer.zero_grad(set_to_none=False)   # zeroed, not freed: as the .NET optimiser

        micro = [next(loader) for _ in range(args.accumulate)]
        skipped = sum(int(s.sum()) for _, _, s, _ in micro)
        reasons = [line for *_, texts in micro for text in texts for line in text.split("\n") if line]
        # Labelled pixels of each global micro-batch, the loss's denominator (one all-reduce for all of them).
        counts = torch.tensor([float((labels != IGNORE).sum()) for _, labels, _, _ in micro], dtype=torch.float64, device=context.device)
        all_reduce_sum(counts, context)
        active = [i for i in range(len(micro)) if counts[i] > 0]   # a batch with nothing labelled gives no gradient (as .NET)
        loss_total = torch.zeros((), dtype=torch.float64, device=context.device)
        for position, i in enumerate(active):
            images, labels, _, _ = micro[i]
            images = images.to(context.device, non_blocking=True)
            labels = labels.to(context.device, non_blocking=True)
            sync = position == len(active) - 1
            with self._maybe_no_sync(sync):
                with amp_modes.autocast(args.amp, context.device):
                    logits = self.model(images)
                # Sum over this process's pixels / the global batch's labelled pixels / accumulate; DDP averages
                # gradients over the W processes, so × W gives the gradient of the global mean.
                pixel_sum = F.cross_entropy(logits.float(), labels, ignore_index=IGNORE, reduction="sum")
                loss = pixel_sum / counts[i].to(pixel_sum.dtype) / args.accumulate
                scaled = loss * context.world_size
                (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
                loss_total += loss.detach().double()
        # One all-reduce for the step's loss, the stop flag and the samples skipped on every process.
        flags = torch.tensor([1.0 if self.stop_requested else 0.0, float(skipped)], dtype=torch.float64, device=context.device)
        summary = torch.cat([loss_total.reshape(1), flags])
        all_reduce_sum(summary, context)
        skipped = int(summary[2])
        if skipped:   # every rank knows from the all-reduce, so every rank joins the gather
            for reason in gather_lines(reasons, context):
                if reason not in self.skip_reasons:
                    self.skip_reasons.append(reason)
        loss_value = float(summary[0])
        if math.isfinite(loss_value) and active:
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
        return loss_value, skipped, bool(summary[1] > 0)

    def _maybe_no_sync(self, sync: bool):
        import contextlib
        if sync or not hasattr(self.model, "no_sync"):
            return contextlib.nullcontext()
        return self.model.no_sync()

    def _log_step(self, log, loss: float, lr: float, started_at: int, clock: float) -> None:
        if log is None:
            return
        step = self.state.iteration
        done = step - started_at
        seconds = max(time.time() - clock, 1e-9)
        per_second = done * self.args.batch * self.args.accumulate / seconds
        log.scalar("train/loss", loss, step)
        log.scalar("train/lr", lr, step)
        if step % self.args.log_every == 0 or step == self.args.iters:
            log.record({"step": step, "loss": loss, "lr": lr, "images_per_s": per_second})
            remaining = seconds / done * (self.args.iters - step)
            print(f"step {step}/{self.args.iters}  loss {loss:.4f}  lr {lr:.3g}  {per_second:.2f} img/s  eta {remaining:.0f}s", flush=True)

    def _evaluate(self, log):
        metrics = evaluate(self.model, self.val_set, self.inference_options(), self.context, self.model_file.num_classes,
                           self.model_file.mean, self.model_file.std, self.val_set.class_names or self.model_file.class_names, self.args.amp)
        agree(self._write(log.path, lambda: self._log_evaluation(log, metrics)) if log is not None else None, self.context)
        return metrics

    def _log_evaluation(self, log, metrics) -> None:
        step = self.state.iteration
        if log is not None:
            log.scalar("val/mIoU", metrics.mean_iou, step)
            log.scalar("val/aAcc", metrics.pixel_accuracy, step)
            log.scalar("val/mAcc", metrics.mean_accuracy, step)
            log.record({"step": step, "aAcc": metrics.pixel_accuracy, "mIoU": metrics.mean_iou, "mAcc": metrics.mean_accuracy,
                        "IoU": {c.name: c.iou for c in metrics.classes}})
            print(f"step {step}: aAcc {100 * metrics.pixel_accuracy:.2f}  mIoU {100 * metrics.mean_iou:.2f}  mAcc {100 * metrics.mean_accuracy:.2f}", flush=True)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    context = None
    try:
        check_options(args)
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        context = initialise(args.device)
        result = Trainer(args, context).run()
        if context.is_main and result["metrics"]:
            best = result["best_miou"]
            print(json.dumps({"best_mIoU": best if best is not None and math.isfinite(best) else None}))   # no mIoU (no labelled pixel): null, as JSON has no NaN
        return 0
    except (UserError, OSError, MemoryError, RuntimeError) as error:   # OSError, a failed allocation: still one line (other errors re-raised)
        return report_error(error)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr, flush=True)
        return 130
    finally:
        release_run_folders()
        if context is not None:
            shutdown(context)


if __name__ == "__main__":
    sys.exit(main())
