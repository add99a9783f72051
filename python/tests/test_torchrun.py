"""The engine under torchrun itself (the launcher users run): a 2-process gloo job killed with SIGKILL, as a
scheduler or an out-of-memory killer would, resumes exactly — its weights after the resumed run equal those of a
run that was never interrupted."""

import os
import signal
import subprocess
import sys
import time

import torch

from helpers import PYTHON_ROOT, TINY_MODEL, make_folder_dataset
from segmenter_torch import safetensors_io


def torchrun(out, log_dir, *extra):
    """`torchrun --standalone --nproc_per_node 2` as the job folder's run.sh starts it (torch 1.13 needs --redirects/--tee/--log_dir)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "--redirects", "1", "--tee", "1", "--log_dir", str(log_dir),
            "-m", "segmenter_torch.train", "--model", TINY_MODEL, "--dataset", "folder", "--crop", "32", "--lr", "0.01",
            "--device", "cpu", "--workers", "0", "--val-split", "none", "--threads", "1", "--seed", "3",
            "--iters", "30", "--batch", "4", "--checkpoint-every", "3", "--out", str(out), *extra]


def environment():
    return dict(os.environ, PYTHONPATH=PYTHON_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")


def iteration(path):
    try:
        return int(safetensors_io.read(str(path))[1]["training.iteration"])
    except (safetensors_io.SafeTensorsError, KeyError):   # not written yet
        return None


def test_a_killed_torchrun_job_resumes_exactly(tmp_path):
    data = make_folder_dataset(str(tmp_path / "data"), train=10, val=2)
    reference = tmp_path / "reference"
    finished = subprocess.run(torchrun(reference, tmp_path / "logs-reference", "--data", data), cwd=tmp_path, env=environment(),
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr

    killed = tmp_path / "killed"
    job = subprocess.Popen(torchrun(killed, tmp_path / "logs-killed", "--data", data), cwd=tmp_path, env=environment(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    last = killed / "last.safetensors"
    deadline = time.time() + 240
    while (iteration(last) or 0) < 6 and job.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(job.pid, signal.SIGKILL)   # torchrun and every rank at once
    job.wait()
    stopped_at = iteration(last)
    assert stopped_at is not None and 6 <= stopped_at < 30, f"killed at step {stopped_at}: the job must be interrupted mid-way"

    resumed = subprocess.run(torchrun(killed, tmp_path / "logs-resumed", "--data", data, "--resume"), cwd=tmp_path, env=environment(),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    expected, got = safetensors_io.read(str(reference / "last.safetensors"))[0], safetensors_io.read(str(last))[0]
    assert set(expected) == set(got)
    worst = max(float((expected[k].double() - got[k].double()).abs().max()) for k in expected)
    assert worst <= 1e-6, f"the resumed job's weights differ from the uninterrupted job's by {worst}"
    assert int(safetensors_io.read(str(last))[1]["training.iteration"]) == 30
