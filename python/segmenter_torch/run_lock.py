"""One training run at a time in an output folder, as the .NET engine's ``RunLock``: an exclusive lock (flock, the same
lock .NET takes) on ``OUT/.lock``, which the operating system drops when the holder ends however it ends, so a killed
run can be resumed at once; a second run into the folder (a job's run.sh started twice, a scheduler's retry) is
refused before it writes anything."""

import errno
import fcntl
import os
from typing import List

from . import UserError

LOCK_FILE = ".lock"
# The folder whose lock the `segmenter train` process that started this job holds for it (TorchrunJobs.HeldLockVariable).
HELD_LOCK_VARIABLE = "SEGMENTER_RUN_LOCK"

_held: List[int] = []   # the descriptors holding locks in this process


def hold_run_folder(out: str) -> None:
    """Takes the lock on the existing folder ``out`` until release_run_folders() or the end of the process; nothing where
    the process that started this job holds it. A UserError when another run holds it."""
    held = os.environ.get(HELD_LOCK_VARIABLE)
    if held and os.path.realpath(held) == os.path.realpath(out):
        return
    path = os.path.join(out, LOCK_FILE)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise UserError(f"--out {out}: cannot open {path} ({error.strerror or error})") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(descriptor)
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise UserError(f"{out} is in use by another training run (it holds {path}); "
                            "wait for that run to end, or train into another --out folder") from None
        return   # a file system without locks (ENOLCK, EOPNOTSUPP): the run goes on unguarded, as .NET's FileShare.None does
    _held.append(descriptor)


def release_run_folders() -> None:
    """Closes this process's descriptors of run locks. In the process that took them, that drops the locks; in a forked
    child (a DataLoader worker) it closes only the child's copies, so the lock lives as long as the trainer alone (a
    worker outliving a killed trainer would otherwise keep it held)."""
    while _held:
        os.close(_held.pop())
