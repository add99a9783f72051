"""Atomic file writes: a temporary file beside the target, flushed, fsynced and renamed over it."""

import os
import tempfile
from typing import Callable, BinaryIO


def _default_mode() -> int:
    """The permission bits a plain ``open(path, "w")`` would give a new file: 0o666 less the umask.

    ``mkstemp`` creates its file with 0o600, and ``os.replace`` keeps that mode, so without this
    every checkpoint and config.json would be private to its owner. The umask can only be read by
    setting it, so it is set and restored at once.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    """Makes the rename itself durable where the platform allows (POSIX); silently skipped elsewhere."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        handle = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass   # some file systems (and Windows) cannot fsync a directory
    finally:
        os.close(handle)


def write_atomically(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Calls ``write`` with a binary stream and moves the result to ``path`` in one rename.

    A crash or a kill at any moment leaves either the previous file or the new one, never a torn one.
    The new file gets the mode a normal open would give it (0o666 & ~umask), and the directory is
    fsynced after the rename so that the new name survives a power loss.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            if hasattr(os, "fchmod"):
                os.fchmod(stream.fileno(), _default_mode())
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def write_text_atomically(path: str, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))
