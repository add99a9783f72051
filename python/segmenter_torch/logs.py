"""Run logs: metrics.jsonl (always), TensorBoard scalars (when torch.utils.tensorboard imports), config.json."""

import json
import math
import os

from .atomic import write_text_atomically


def _clean(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class RunLog:
    """Appends one JSON object per line to OUT/metrics.jsonl and mirrors scalars to TensorBoard if available."""

    def __init__(self, directory: str):
        self.path = os.path.join(directory, "metrics.jsonl")
        self.writer = None
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(os.path.join(directory, "tensorboard"))
        except Exception:   # no tensorboard package: metrics.jsonl only
            self.writer = None

    def start(self, step: int) -> None:
        """Starts the log at ``step`` (as RunRecord.Start in C#): a new run (step 0) starts an empty metrics.jsonl, so an
        --overwrite never mixes two runs' lines; a resumed run keeps the lines of steps up to ``step`` (lines logged after
        its checkpoint are dropped, as that work is redone)."""
        kept = []
        if step > 0 and os.path.isfile(self.path):
            with open(self.path, encoding="utf-8", errors="replace") as stream:
                for line in stream:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue   # a line cut short by a kill
                    if isinstance(entry, dict) and isinstance(entry.get("step"), int) and entry["step"] <= step:
                        kept.append(line if line.endswith("\n") else line + "\n")
        write_text_atomically(self.path, "".join(kept))

    def record(self, entry: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(_clean(entry), separators=(",", ":")) + "\n")
            stream.flush()

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None and value is not None and not math.isnan(value):
            self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def write_config(directory: str, config: dict) -> None:
    write_text_atomically(os.path.join(directory, "config.json"), json.dumps(_clean(config), indent=2, sort_keys=True) + "\n")
