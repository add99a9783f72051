"""segmenter_torch: the PyTorch training engine of Segmenter.Dsl.

Trains the models the project's compiler emits as ``model.py`` (``segmenter emit <model> --target
pytorch``) with the recipe the .NET trainer runs (docs/training.md), on PyTorch's own distributed
engine (torchrun, DDP, FSDP, mixed precision), and reads and writes the project's checkpoint format
so the .NET tools take the files unchanged.

Entry points: ``python -m segmenter_torch.train`` and ``python -m segmenter_torch.evaluate``.
"""

__version__ = "0.1.0"


class UserError(Exception):
    """A problem the user can fix (a bad option, a missing file, a refused dataset).

    The command-line entry points print it as one ``error: …`` line and exit with status 1.
    """


def out_of_memory(error: BaseException):
    """A UserError saying what to make smaller when ``error`` is an allocation that failed (torch's "can't allocate
    memory", CUDA's "out of memory", Python's MemoryError); None for any other error."""
    text = str(error)
    if not (isinstance(error, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower()):
        return None
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return UserError(f"out of memory ({first[:300]}): give a smaller --batch, --crop, --window or --test-size")


def report_error(error: BaseException) -> int:
    """Prints a user error, an OSError the checks did not foresee (a permission, a full disk), or an allocation that
    failed (saying what to make smaller) as one ``error: …`` line, and returns the exit status 1. Any other
    MemoryError or RuntimeError is a bug: it is raised again, with its traceback."""
    import sys
    if isinstance(error, (MemoryError, RuntimeError)):
        refusal = out_of_memory(error)
        if refusal is None:
            raise error
        error = refusal
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        message = f"{where}{error.strerror or worker_message(error)}"
    else:
        message = worker_message(error)
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def worker_message(error: BaseException) -> str:
    """The message of ``error``; for one a DataLoader worker raised, which PyTorch raises again in the main process as
    "Caught DatasetError in DataLoader worker process 0." and the worker's whole traceback, the original message alone."""
    import re
    message = str(error)
    if not message.startswith("Caught ") or "\nOriginal Traceback (most recent call last):\n" not in message:
        return message
    original = re.search(r"^(?:[A-Za-z_]\w*\.)*" + re.escape(type(error).__name__) + r": (.*)\Z", message, re.M | re.S)
    return original.group(1).strip() if original else message
