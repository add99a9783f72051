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
