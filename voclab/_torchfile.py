"""Read a ``torch.save`` file safely, and say in plain words why a file cannot be read.

``torch.load(weights_only=True)`` refuses to run pickled code, but its errors talk about
zip internals ("failed finding central directory"), or advise retrying with
``weights_only=False``, which would run whatever code the file holds. voclab never
passes that advice on: :func:`load_tensors` looks at the file's first bytes first and
tells an empty file, a truncated one, a web page saved by a failed download, a Git LFS
pointer, a plain pickle and a file with pickled objects apart.

Used by :mod:`voclab.checkpoint` and :func:`voclab.models.hifigan.load_official_generator`.

Notebook: 07_hifigan.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

__all__ = ["load_tensors", "file_kind"]

#: torch.save's default format is a zip archive
ZIP_MAGIC = b"PK\x03\x04"
#: its legacy format (``_use_new_zipfile_serialization=False``): pickle protocol 2, then
#: the magic number 0x1950a86a20f9469cfc6c as a 10-byte long
LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")


def file_kind(head: bytes) -> str:
    """What a file's first bytes say it is: ``"zip"``, ``"legacy"`` (both written by
    ``torch.save``), ``"empty"``, ``"html"``, ``"lfs"``, ``"pickle"`` or ``"other"``."""
    if not head:
        return "empty"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(LEGACY_MAGIC):
        return "legacy"
    if head.startswith(b"version https://git-lfs"):
        return "lfs"
    if head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "html"
    if head[:1] == b"\x80":
        return "pickle"
    return "other"


_FOREIGN = {
    "empty": "it is empty (0 bytes): the save, copy or download wrote nothing",
    "html": "it is a web page (HTML), not a PyTorch file: the download saved the site's page "
            "instead of the file (large Google Drive files need the 'download anyway' link)",
    "lfs": "it is a Git LFS pointer, not the file itself: run `git lfs pull` in its repository",
    "pickle": "it is a plain Python pickle, not a file torch.save wrote",
}


def _why(err: Exception, kind: str, head: bytes) -> str:
    """The reason a file cannot be loaded, without torch's advice to use weights_only=False."""
    if kind in _FOREIGN:
        return _FOREIGN[kind]
    if kind == "other":
        return ("it is not a PyTorch checkpoint: torch.save writes a zip archive (or, in its legacy "
                f"format, a pickle with PyTorch's magic number), and this file starts with bytes "
                f"{head[:8].hex(' ')}; it is corrupt or another kind of file")
    text = str(err)
    if isinstance(err, pickle.UnpicklingError) or "weights_only" in text or "Unsupported global" in text:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        named = f" ({found.group(1)})" if found else ""
        return (f"it contains pickled Python objects{named} besides tensors and plain values; voclab does "
                "not unpickle them, as that would run code from the file")
    if kind == "zip":
        return ("damaged or truncated: its zip archive (torch.save's format) is incomplete or corrupt, "
                "as an interrupted save, copy or download leaves it")
    first = (text.strip().splitlines() or [type(err).__name__])[0][:160]
    return f"damaged or truncated (PyTorch's legacy format; {first or type(err).__name__})"


def load_tensors(path: str | Path, *, what: str, advice: str = "", mmap: bool = False,
                 map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``, or a :class:`~voclab.errors.CheckpointError` that says why not.

    Notebook: 07_hifigan.

    Parameters
    ----------
    path : str or Path
        An existing file.
    what : str
        What the file should be, for the message ("voclab checkpoint").
    advice : str
        What to do, appended to the message.
    mmap : bool
        Map the file into memory instead of reading it: a tensor is read from disk only when
        it is used (zip format only; a legacy file is read whole).
    map_location : str or torch.device

    Returns
    -------
    content : Any
        What the file holds.

    Raises
    ------
    voclab.errors.CheckpointError
        ``"<path> is not a readable <what>: <reason>. <advice>"``.
    """
    path = Path(path)
    advice = f" {advice}" if advice else ""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as err:
        raise CheckpointError(f"{path} cannot be read: {err.strerror or err}.{advice}") from None
    kind = file_kind(head)
    if kind not in ("zip", "legacy"):  # not torch's: do not even hand it to the unpickler
        raise CheckpointError(f"{path} is not a readable {what}: {_why(Exception(), kind, head)}.{advice}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap and kind == "zip")
    except Exception as err:  # noqa: BLE001 - every failure means "not a usable file"
        raise CheckpointError(f"{path} is not a readable {what}: {_why(err, kind, head)}.{advice}") from None
