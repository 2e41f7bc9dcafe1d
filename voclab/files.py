"""Files that appear whole or not at all.

A crash, a full disk or Ctrl-C while a file is written must never leave half a file where a
complete one is expected (a run's ``config.json``, a prepared data set's lists, a listening
test's scores, a learner's course record). :func:`write_atomic` writes to a fresh temporary
name beside the target, flushes it to disk, and renames it over the target with
:func:`os.replace`, which is atomic on one file system. Checkpoints (torch objects) have their
own :func:`voclab.checkpoint.save_atomic`, which also reports a full disk.

Notebook: none (used by ``voclab prepare``, ``voclab train``, ``voclab generate``,
``voclab course`` and notebook 08's listening test).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Replace ``path`` with ``data`` atomically: readers see the old file or the new one, never a part.

    The temporary file is ``.NAME.<pid>.<random>.tmp`` beside ``path`` (created exclusively,
    so two writers never share it; :func:`voclab.checkpoint.remove_stale_temporaries` knows
    the ``.*.tmp`` pattern), fsync'ed, then renamed over ``path``; on any error it is removed
    and the error re-raised.

    Parameters
    ----------
    path : str or PathLike
        The file to write; its folder must exist.
    data : str or bytes
        The whole new content; text is written as UTF-8, exactly (no newline translation).

    Returns
    -------
    path : Path

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "plan.json"
    >>> write_atomic(target, '{"steps": 10}\\n').read_text()
    '{"steps": 10}\\n'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
