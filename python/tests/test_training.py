"""End-to-end training: distributed equivalence on the CPU (gloo), exact resume after SIGKILL, AMP, errors."""

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from helpers import HERE, PYTHON_ROOT, TINY_MODEL, make_folder_dataset
from segmenter_torch import UserError, safetensors_io, train
from segmenter_torch.distributed import Context, fsdp_available

RUNNER = os.path.join(HERE, "rank_runner.py")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_folder_dataset(str(tmp_path_factory.mktemp("data") / "d"), train=10, val=2)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def options(data, out, *extra):
    return ["--model", TINY_MODEL, "--data", data, "--dataset", "folder", "--crop", "32", "--lr", "0.01",
            "--device", "cpu", "--workers", "0", "--val-split", "none", "--out", str(out), *extra]


def run_ranks(world, argv, timeout=120):
    """Starts `world` processes as torchrun would (environment variables) and waits for all."""
    port = str(free_port())
    processes = []
    for rank in range(world):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=port, OMP_NUM_THREADS="1")
        processes.append(subprocess.Popen([sys.executable, RUNNER, *argv], env=env, cwd=PYTHON_ROOT,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=timeout)[0] for p in processes]
    for p, output in zip(processes, outputs):
        assert p.returncode == 0, output
    return outputs


def weights(path):
    return safetensors_io.read(str(path))[0]


def assert_close(a, b, atol):
    assert set(a) == set(b)
    worst = max(float((a[k].double() - b[k].double()).abs().max()) for k in a)
    assert worst <= atol, f"largest difference {worst}"


@pytest.mark.parametrize("accumulate", [1, 2])
def test_two_processes_with_half_batches_equal_one_process(data, tmp_path, accumulate):
    common = ["--iters", "3", "--batch", "4", "--accumulate", str(accumulate), "--checkpoint-every", "3"]
    run_ranks(1, options(data, tmp_path / "one", *common))
    run_ranks(2, options(data, tmp_path / "two", *common))
    one = weights(tmp_path / "one" / "rank0.safetensors")
    rank0, rank1 = weights(tmp_path / "two" / "rank0.safetensors"), weights(tmp_path / "two" / "rank1.safetensors")
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), f"ranks differ in {key}"   # every rank holds the same weights
    assert_close(one, rank0, 1e-5)
    torch.manual_seed(train.mix(0, train.INIT_SALT))   # the initialisation the runs started from: training moved it
    initial = __import__("tiny_model").create_model().state_dict()
    assert any(not torch.allclose(initial[k], rank0[k]) for k in rank0)
    # The checkpoint rank 0 wrote is the trained model, with the momentum buffers of every parameter.
    saved, metadata = safetensors_io.read(str(tmp_path / "two" / "last.safetensors"))
    assert metadata["training.iteration"] == "3" and metadata["training.batch_size"] == "4"
    assert all(torch.equal(saved[k], rank0[k]) for k in rank0)
    assert {k[len("optimizer.momentum_buffer."):] for k in saved if k.startswith("optimizer.")} == set(rank0)
    lines = [json.loads(l) for l in open(tmp_path / "two" / "metrics.jsonl")]
    one_lines = [json.loads(l) for l in open(tmp_path / "one" / "metrics.jsonl")]
    assert [l["loss"] for l in lines] == pytest.approx([l["loss"] for l in one_lines], abs=1e-5)


def test_a_batch_not_divisible_by_the_processes_is_refused(data, tmp_path):
    args = train.build_parser().parse_args(options(data, tmp_path / "o", "--batch", "4"))
    with pytest.raises(UserError, match="--batch 4 is the global batch and must be divisible by the 3 processes"):
        train.Trainer(args, Context(0, 3, 0, torch.device("cpu")))


def read_iteration(path):
    try:
        return int(safetensors_io.read(str(path))[1]["training.iteration"])
    except (safetensors_io.SafeTensorsError, KeyError):
        return None


def test_resume_after_sigkill_continues_exactly(data, tmp_path, capsys):
    common = ["--iters", "24", "--batch", "2", "--checkpoint-every", "4", "--threads", "1", "--seed", "5"]
    reference = tmp_path / "reference"
    assert train.main(options(data, reference, *common)) == 0

    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "segmenter_torch.train", *options(data, killed, *common, "--workers", "1")],
                               cwd=PYTHON_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = killed / "last.safetensors"
    deadline = time.time() + 120
    while not last.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stopped_at = read_iteration(last)
    assert stopped_at is not None and 4 <= stopped_at < 24, f"killed at step {stopped_at}: the run must be interrupted mid-way"

    assert train.main(options(data, killed, *common, "--resume")) == 0
    expected, got = weights(reference / "last.safetensors"), weights(last)
    assert set(expected) == set(got)
    for key in expected:
        assert torch.equal(expected[key], got[key]), key   # weights and momentum buffers, bit for bit
    losses = {l["step"]: l["loss"] for l in map(json.loads, open(reference / "metrics.jsonl")) if "loss" in l}
    resumed = [json.loads(l) for l in open(killed / "metrics.jsonl")]
    for line in resumed:
        if "loss" in line:
            assert line["loss"] == losses[line["step"]]
    assert resumed[-1]["step"] == 24

    # Resumed once more with nothing left to do, the run says so rather than finishing in silence.
    capsys.readouterr()
    assert train.main(options(data, killed, *common, "--resume")) == 0
    assert "at step 24 (seed 5): --iters 24 is reached, so no step is taken; give a larger --iters to train on" in capsys.readouterr().out


def test_a_resume_continues_with_the_runs_recipe_in_its_folder(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert train.main(options(data, run, "--iters", "2", "--batch", "2", "--lr", "0.02", "--seed", "4", "--momentum", "0.8")) == 0
    capsys.readouterr()
    # Neither --out nor the recipe given: the run goes on in its folder, with its own options; --iters given is used.
    alone = ["--model", TINY_MODEL, "--data", data, "--dataset", "folder", "--device", "cpu", "--workers", "0", "--val-split", "none"]
    checkpoint = str(run / "last.safetensors")
    assert train.main(alone + ["--resume", checkpoint, "--iters", "3"]) == 0
    out = capsys.readouterr().out
    assert f"the run's recipe, from {checkpoint}: --batch 2, --seed 4, --lr 0.02, --momentum 0.8, --crop 32" in out
    assert "changed from here on: --iters 3 (the run's: 2)" in out
    config = json.load(open(run / "config.json"))
    assert (config["iters"], config["batch"], config["seed"], config["lr"], config["momentum"], config["crop"]) == (3, 2, 4, 0.02, 0.8, 32)
    assert [json.loads(l)["step"] for l in open(run / "metrics.jsonl")] == [1, 2, 3]
    _, metadata = safetensors_io.read(checkpoint)
    assert (metadata["training.iteration"], metadata["training.iterations"], metadata["training.lr"], metadata["training.momentum"]) == ("3", "3", "0.02", "0.8")
    # --batch, --accumulate and --seed stay the run's; another run's folder is not replaced.
    assert train.main(alone + ["--resume", checkpoint, "--iters", "4", "--seed", "5"]) == 1
    assert f"error: {checkpoint} was trained with --seed 4, but this run asks for --seed 5; resume with --seed 4 (or leave it out)" in capsys.readouterr().err
    other = tmp_path / "other"
    assert train.main(options(data, other, "--iters", "1", "--batch", "2")) == 0
    assert train.main(alone + ["--resume", checkpoint, "--iters", "4", "--out", str(other)]) == 1
    assert f"error: {other} already holds another training run (last.safetensors), which resuming {checkpoint} there would replace" in capsys.readouterr().err
    assert read_iteration(other / "last.safetensors") == 1 and read_iteration(run / "last.safetensors") == 3
    # Damaged files: a recipe value that is no number; momentum that is not floating point.
    tensors, metadata = safetensors_io.read(checkpoint)
    damaged = str(tmp_path / "damaged.safetensors")
    safetensors_io.write(damaged, tensors.items(), {**metadata, "training.lr": "fast"})
    assert train.main(alone + ["--resume", damaged, "--iters", "4", "--out", str(tmp_path / "d1")]) == 1
    assert f"error: {damaged}: the recipe's 'training.lr' is 'fast', not a finite number" in capsys.readouterr().err
    safetensors_io.write(damaged, tensors.items(), {**metadata, "training.seed": str(2**64 + 4)})   # aliases seed 4 in 64 bits
    assert train.main(alone + ["--resume", damaged, "--iters", "4", "--out", str(tmp_path / "d6")]) == 1
    assert f"error: {damaged}: the recipe's 'training.seed' is '{2**64 + 4}', beyond the 32-bit whole numbers both engines keep" in capsys.readouterr().err
    safetensors_io.write(damaged, tensors.items(), {**metadata, "training.best_iteration": str(2**31)})
    assert train.main(alone + ["--resume", damaged, "--iters", "4", "--out", str(tmp_path / "d7")]) == 1
    assert f"error: {damaged}: the training state lacks a whole number under 'training.best_iteration' (found '{2**31}'; both engines" in capsys.readouterr().err
    safetensors_io.write(damaged, [(k, v.to(torch.int32) if k.startswith("optimizer.") else v) for k, v in tensors.items()], metadata)
    assert train.main(alone + ["--resume", damaged, "--iters", "4", "--out", str(tmp_path / "d2")]) == 1
    assert "is torch.int32; momentum is floating point, so the file is damaged" in capsys.readouterr().err
    safetensors_io.write(damaged, [(k, torch.full_like(v, float("nan")) if k.startswith("optimizer.") else v) for k, v in tensors.items()], metadata)
    assert train.main(alone + ["--resume", damaged, "--iters", "4", "--out", str(tmp_path / "d3")]) == 1
    assert "holds NaN or infinite values; a run never saves them, so the file is damaged" in capsys.readouterr().err
    safetensors_io.write(damaged, [(k, torch.full(v.shape, 1e300, dtype=torch.float64) if k.startswith("optimizer.") else v) for k, v in tensors.items()], metadata)
    assert train.main(alone + ["--resume", damaged, "--iters", "4", "--out", str(tmp_path / "d5")]) == 1   # infinite once in float32
    assert "holds NaN or infinite values; a run never saves them, so the file is damaged" in capsys.readouterr().err
    # Weights that are not finite: a run never saves them either (it stops on a non-finite loss first).
    safetensors_io.write(damaged, [(k, torch.full_like(v, float("inf")) if k == "encoder.norm.bias" else v) for k, v in tensors.items()], metadata)
    assert train.main(alone + ["--resume", damaged, "--iters", "4", "--out", str(tmp_path / "d4")]) == 1
    err = capsys.readouterr().err
    assert f"error: {damaged}: 1 of the " in err and "tensors hold NaN or infinite values (encoder.norm.bias (" in err
    assert "it cannot continue from this file: resume from an earlier checkpoint" in err


def test_overwrite_starts_a_new_log_instead_of_mixing_two_runs(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(options(data, out, "--iters", "2", "--batch", "2")) == 0
    assert train.main(options(data, out, "--iters", "1", "--batch", "2")) == 1   # refused without --overwrite
    assert "already holds" in capsys.readouterr().err
    assert train.main(options(data, out, "--iters", "1", "--batch", "2", "--overwrite")) == 0
    assert [json.loads(l)["step"] for l in open(out / "metrics.jsonl")] == [1]
    assert read_iteration(out / "last.safetensors") == 1


def test_bf16_autocast_on_the_cpu_trains(data, tmp_path):
    out = tmp_path / "bf16"
    assert train.main(options(data, out, "--iters", "14", "--batch", "4", "--amp", "bf16", "--lr", "0.02", "--threads", "1")) == 0
    losses = [json.loads(l)["loss"] for l in open(out / "metrics.jsonl")]
    assert len(losses) == 14 and all(math.isfinite(v) for v in losses)
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3, losses
    config = json.load(open(out / "config.json"))
    assert config["amp"] == "bf16" and config["world_size"] == 1 and config["crop"] == 32 and config["spec"]["name"] == "TinyTest"


def test_training_with_validation_writes_best_and_last_and_logs(data, tmp_path, capsys):
    out = tmp_path / "val"
    argv = options(data, out, "--iters", "4", "--batch", "2", "--eval-every", "2", "--eval-mode", "whole")
    argv[argv.index("--val-split") + 1] = "val"
    assert train.main(argv) == 0
    assert (out / "best.safetensors").exists() and (out / "last.safetensors").exists()
    evaluations = [json.loads(l) for l in open(out / "metrics.jsonl") if "mIoU" in l]
    assert [e["step"] for e in evaluations] == [2, 4]
    assert set(evaluations[0]["IoU"]) == {"background", "square", "disc"} and "aAcc" in evaluations[0] and "mAcc" in evaluations[0]
    _, metadata = safetensors_io.read(str(out / "best.safetensors"))
    best = max(e["mIoU"] for e in evaluations)
    assert float(metadata["training.best_miou"]) == pytest.approx(best)


def test_a_non_finite_loss_stops_with_an_error_keeping_the_last_finite_checkpoint(data, tmp_path, capsys):
    out = tmp_path / "nan"
    code = train.main(options(data, out, "--iters", "40", "--batch", "2", "--lr", "1e12", "--checkpoint-every", "1"))
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and ("loss became" in error or "weights became non-finite" in error)
    tensors, metadata = safetensors_io.read(str(out / "last.safetensors"))
    assert int(metadata["training.iteration"]) < 40
    assert all(bool(torch.isfinite(v).all()) for v in tensors.values())


def test_user_errors_are_one_line_and_exit_1(data, tmp_path, capsys):
    assert train.main(options(data, tmp_path / "a", "--amp", "fp16")) == 1
    assert "error: --amp fp16 needs a CUDA device" in capsys.readouterr().err
    assert train.main(options(data, tmp_path / "b", "--resume")) == 1
    assert "error: nothing to resume" in capsys.readouterr().err
    assert train.main(options(data, tmp_path / "c", "--iters", "0")) == 1
    assert "error: --iters must be at least 1" in capsys.readouterr().err
    argv = options(data, tmp_path / "d")
    argv[argv.index("--dataset") + 1] = "cityscapes"
    assert train.main(argv) == 1
    assert "error: " in capsys.readouterr().err


@pytest.mark.parametrize("extra,message", [
    (["--stride", "0"], "--stride must be from 1 to 8192 pixels, not 0"),
    (["--window", "0"], "--window must be from 1 to 8192 pixels, not 0"),
    (["--test-size", "0"], "--test-size must be from 1 to 8192 pixels, not 0"),
    (["--window", "100000"], "--window must be from 1 to 8192 pixels, not 100000"),
    (["--test-size", "100000"], "--test-size must be from 1 to 8192 pixels, not 100000"),
    (["--window", "16", "--stride", "17"], "sliding-window stride 17 with a window of 16: the stride must be between 1 and the window"),
    (["--stride", "33"], "sliding-window stride 33 with a window of 32"),   # the window defaults to the crop (32)
    (["--momentum", "-1"], "--momentum must be a number from 0 to 3.403e+38 (float32's largest), not -1"),
    (["--momentum", "nan"], "--momentum must be a number from 0"),
    (["--momentum", "1"], "--momentum must be below 1"),
    (["--weight-decay", "-1"], "--weight-decay must be a number from 0"),
    (["--weight-decay", "inf"], "--weight-decay must be a number from 0"),
    (["--weight-decay", "1e300"], "--weight-decay must be a number from 0 to 3.403e+38 (float32's largest), not 1e+300"),
    (["--lr", "0"], "--lr must be a positive number up to 3.403e+38"),
    (["--lr", "-0.1"], "--lr must be a positive number"),
    (["--lr", "inf"], "--lr must be a positive number"),
    (["--lr", "nan"], "--lr must be a positive number"),
    (["--lr", "1e39"], "--lr must be a positive number up to 3.403e+38 (float32's largest), not 1e+39"),
    (["--crop", "100000"], "--crop must be from 1 to 8192 pixels, not 100000"),
    (["--crop", "8192", "--batch", "20"], "--batch 20 of 8192x8192 crops: a forward pass's images are one array of at most 2^31 values"),
    (["--batch", "100000000"], "--batch 100000000 of 32x32 crops"),   # the crop from the model's spec
    (["--seed", str(2**64)], f"--seed must be a whole number from -2147483648 to 2147483647 (32 bits, as the .NET engine's), not {2**64}"),
    (["--seed", str(-2**31 - 1)], "--seed must be a whole number from -2147483648 to 2147483647"),
    (["--iters", str(2**31)], f"--iters must be a whole number from -2147483648 to 2147483647 (32 bits, as the .NET engine's), not {2**31}"),
    (["--threads", "0"], "--threads must be at least 1, not 0"),
    (["--threads", "-2"], "--threads must be at least 1"),
])
def test_bad_options_are_refused_before_anything_is_written(data, tmp_path, capsys, extra, message):
    out = tmp_path / "o"
    assert train.main(options(data, out, "--iters", "1", "--batch", "2", *extra)) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and error.count("\n") == 1, error
    assert not (out / "config.json").exists()


def test_a_folder_another_run_holds_is_refused_and_the_lock_ends_with_the_run(data, tmp_path, capsys, monkeypatch):
    import fcntl
    from segmenter_torch import run_lock
    out = tmp_path / "held"
    out.mkdir()
    other = os.open(out / ".lock", os.O_RDWR | os.O_CREAT)   # another run's hold (a description of its own, as another process's)
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert train.main(options(data, out, "--iters", "1", "--batch", "2")) == 1
        error = capsys.readouterr().err
        assert error == f"error: {out} is in use by another training run (it holds {out / '.lock'}); wait for that run to end, or train into another --out folder\n"
        assert not (out / "config.json").exists()
        # Started by `segmenter train`, which holds the lock for the job and says so, the job trains.
        monkeypatch.setenv(run_lock.HELD_LOCK_VARIABLE, str(out))
        assert train.main(options(data, out, "--iters", "1", "--batch", "2", "--workers", "1")) == 0
        monkeypatch.delenv(run_lock.HELD_LOCK_VARIABLE)
    finally:
        os.close(other)
    # Its own run takes the lock and drops it when it ends (its data workers keep no copy).
    assert train.main(options(data, out, "--iters", "2", "--batch", "2", "--workers", "1", "--resume")) == 0
    mine = os.open(out / ".lock", os.O_RDWR)
    try:
        fcntl.flock(mine, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(mine)


def test_out_naming_a_file_or_a_place_under_a_file_is_refused(data, tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert train.main(options(data, a_file, "--iters", "1", "--batch", "2")) == 1
    assert "error: --out " + str(a_file) + ": this is a file, not a folder" in capsys.readouterr().err
    assert train.main(options(data, a_file / "sub", "--iters", "1", "--batch", "2")) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: --out " + str(a_file / "sub") + ": cannot create the folder") and error.count("\n") == 1


def test_a_failing_checkpoint_write_is_one_line_naming_the_file(data, tmp_path, capsys, monkeypatch):
    import errno

    def disk_full(path, *_, **__):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(train, "save_project", disk_full)
    out = tmp_path / "full"
    assert train.main(options(data, out, "--iters", "1", "--batch", "2")) == 1
    error = capsys.readouterr().err
    assert error == f"error: cannot write {out / 'last.safetensors'}: No space left on device\n"


def test_a_failing_config_write_is_one_line_naming_the_file(data, tmp_path, capsys, monkeypatch):
    def refused(*_, **__):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(train, "write_config", refused)
    out = tmp_path / "denied"
    assert train.main(options(data, out, "--iters", "1", "--batch", "2")) == 1
    assert capsys.readouterr().err == f"error: cannot write {out / 'config.json'}: Permission denied\n"


def test_the_final_checkpoint_is_written_before_the_final_evaluation(data, tmp_path, capsys, monkeypatch):
    def broken(*_, **__):
        raise UserError("evaluation failed")

    monkeypatch.setattr(train, "evaluate", broken)
    out = tmp_path / "evalfails"
    argv = options(data, out, "--iters", "2", "--batch", "2", "--checkpoint-every", "100")
    argv[argv.index("--val-split") + 1] = "val"
    assert train.main(argv) == 1
    assert "error: evaluation failed" in capsys.readouterr().err
    assert read_iteration(out / "last.safetensors") == 2


def test_fsdp_two_processes_equal_one_process_or_fsdp_is_refused_clearly_where_torch_lacks_it(data, tmp_path, capsys):
    """One contract for every torch: FSDP trains as one process does where torch has it (2.x), and is refused with a
    message saying what is needed where it has not (Debian's 1.13); either way something is checked, nothing skipped."""
    if not fsdp_available():
        assert train.main(options(data, tmp_path / "f", "--strategy", "fsdp", "--iters", "1")) == 1
        assert "error: --strategy fsdp needs torch ≥ 2" in capsys.readouterr().err
        return
    common = ["--iters", "3", "--batch", "4", "--checkpoint-every", "3"]
    run_ranks(1, options(data, tmp_path / "one", *common))
    run_ranks(2, options(data, tmp_path / "two", *common, "--strategy", "fsdp"))
    one = weights(tmp_path / "one" / "last.safetensors")
    two = weights(tmp_path / "two" / "last.safetensors")
    assert_close(one, two, 1e-5)


def test_ctrl_c_finishes_the_step_and_writes_the_checkpoint(data, tmp_path):
    out = tmp_path / "interrupted"
    process = subprocess.Popen([sys.executable, "-m", "segmenter_torch.train", *options(data, out, "--iters", "400", "--batch", "2",
                                                                                       "--checkpoint-every", "2", "--threads", "1")],
                               cwd=PYTHON_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not (out / "last.safetensors").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 0, output
    assert "interrupted: checkpoint at step" in output
    stopped = read_iteration(out / "last.safetensors")
    assert 2 <= stopped < 400
    assert json.loads(open(out / "metrics.jsonl").read().splitlines()[-1])["step"] == stopped


def test_evaluate_cli_gives_the_trainers_final_metrics(data, tmp_path, capsys):
    from segmenter_torch import evaluate
    out = tmp_path / "ev"
    argv = options(data, out, "--iters", "2", "--batch", "2")
    argv[argv.index("--val-split") + 1] = "val"
    assert train.main(argv) == 0
    final = [json.loads(l) for l in open(out / "metrics.jsonl") if "mIoU" in l][-1]
    capsys.readouterr()
    assert evaluate.main(["--model", TINY_MODEL, "--checkpoint", str(out / "last.safetensors"), "--data", data, "--dataset", "folder",
                          "--window", "32", "--device", "cpu", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["mIoU"] == pytest.approx(final["mIoU"], abs=1e-12) and metrics["aAcc"] == pytest.approx(final["aAcc"], abs=1e-12)
    assert evaluate.main(["--model", TINY_MODEL, "--checkpoint", str(out / "nope.safetensors"), "--data", data, "--dataset", "folder"]) == 1
    assert "error: checkpoint" in capsys.readouterr().err


def test_a_failed_allocation_is_one_line_and_other_runtime_errors_keep_their_traceback(capsys):
    from segmenter_torch import report_error
    assert report_error(RuntimeError("[enforce fail at alloc_cpu.cpp:83] DefaultCPUAllocator: can't allocate memory: you tried to allocate 112057603104 bytes")) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory ([enforce fail") and "give a smaller --batch, --crop, --window or --test-size" in err and err.count("\n") == 1
    with pytest.raises(RuntimeError, match="a bug"):
        report_error(RuntimeError("a bug"))


class _RefusingDataset(torch.utils.data.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, index):
        from segmenter_torch.data import DatasetError
        raise DatasetError(f"images/{index}.jpg: the JPEG's image data ends before the 8×8 pixels its header claims")


def test_a_user_error_in_a_data_loading_worker_is_one_line_not_the_workers_traceback(capsys):
    from segmenter_torch import report_error
    from segmenter_torch.data import DatasetError
    with pytest.raises(DatasetError) as raised:
        next(iter(torch.utils.data.DataLoader(_RefusingDataset(), batch_size=1, num_workers=1)))
    assert "Original Traceback" in str(raised.value)   # as PyTorch raises it again in the main process
    assert report_error(raised.value) == 1
    assert capsys.readouterr().err == "error: images/0.jpg: the JPEG's image data ends before the 8×8 pixels its header claims\n"
