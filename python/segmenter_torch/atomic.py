"""Atomic file writes: a temporary file beside the target, flushed, fsynced and renamed over it."""

import os
import tempfile
from typing import Callable, BinaryIO


def write_atomically(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Calls ``write`` with a binary stream and moves the result to ``path`` in one rename.

    A crash or a kill at any moment leaves either the previous file or the new one, never a torn one.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
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


def write_text_atomically(path: str, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))
