"""The .NET CLI takes this engine's checkpoints (and this engine takes .NET's).

Uses the `segmenter` executable that SEGMENTER_CLI names, or else the one `dotnet test Segmenter.Dsl.sln`
(the README's test command, run first) leaves in src/Segmenter.Cli/bin; the suite itself does not build .NET.
Skipped, saying so, when neither exists (for example when only the Python tests are run on a machine without .NET).
"""

import json
import os
import subprocess
import sys

import pytest

from helpers import PYTHON_ROOT, make_folder_dataset
from segmenter_torch import safetensors_io, train



def _find_cli():
    named = os.environ.get("SEGMENTER_CLI")
    if named:
        return named
    bin_folder = os.path.join(os.path.dirname(PYTHON_ROOT), "src", "Segmenter.Cli", "bin")
    for configuration in ("Debug", "Release"):
        candidate = os.path.join(bin_folder, configuration, "net10.0", "segmenter")
        if os.path.isfile(candidate):
            return candidate
    return None


CLI = _find_cli()
pytestmark = pytest.mark.skipif(not CLI or not os.path.isfile(CLI), reason="no built segmenter executable (build the solution, or set SEGMENTER_CLI) for the .NET interop checks")

SEG = """backbone TinyBackbone { layers = 2  width = 32  heads = 2 }

model TinyNet {
  backbone = TinyBackbone
  patch    = 8
  image    = 32
  classes  = 3
  decoder  = linear
}
"""


def cli(*args, cwd):
    result = subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_checkpoints_cross_between_the_engines(tmp_path):
    (tmp_path / "tiny.seg").write_text(SEG)
    data = make_folder_dataset(str(tmp_path / "data"), train=6, val=2)
    cli("train", "tiny.seg:TinyNet", "--data", data, "--dataset", "folder", "--iters", "2", "--batch", "2", "--crop", "32",
        "--out", "run", "--device", "cpu", "--val-split", "none", cwd=tmp_path)
    tensors, metadata = safetensors_io.read(str(tmp_path / "run" / "last.safetensors"))
    # A model.py for the .NET spec: the stand-in's code with the spec the checkpoint carries.
    source = open(os.path.join(PYTHON_ROOT, "tests", "tiny_model.py")).read()
    start, end = source.index("SPEC = {"), source.index("class Attention")
    spec = json.loads(metadata["spec_json"])
    (tmp_path / "model.py").write_text(source[:start] + f"SPEC = {spec!r}\n\nSPEC_TEXT = {metadata['spec']!r}\n\n\n" + source[end:])
    assert train.main(["--model", str(tmp_path / "model.py"), "--data", data, "--dataset", "folder", "--iters", "4", "--batch", "2",
                       "--crop", "32", "--out", str(tmp_path / "run"), "--resume", "--device", "cpu", "--val-split", "none", "--workers", "0"]) == 0
    cli("train", "tiny.seg:TinyNet", "--data", data, "--dataset", "folder", "--iters", "6", "--batch", "2", "--crop", "32",
        "--out", "run", "--device", "cpu", "--val-split", "none", "--resume", cwd=tmp_path)
    dotnet = json.loads(cli("eval", "tiny.seg:TinyNet", "--checkpoint", "run/last.safetensors", "--data", data, "--dataset", "folder",
                            "--device", "cpu", "--json", cwd=tmp_path))
    ours = subprocess.run([sys.executable, "-m", "segmenter_torch.evaluate", "--model", str(tmp_path / "model.py"), "--checkpoint",
                           str(tmp_path / "run" / "last.safetensors"), "--data", data, "--dataset", "folder", "--device", "cpu", "--json"],
                          cwd=PYTHON_ROOT, capture_output=True, text=True, check=True)
    metrics = json.loads(ours.stdout)
    assert round(100 * metrics["mIoU"], 2) == pytest.approx(dotnet["mIoU"], abs=0.011)
    assert round(100 * metrics["aAcc"], 2) == pytest.approx(dotnet["aAcc"], abs=0.011)
