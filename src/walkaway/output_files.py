"""Writing an output so that a reader never sees half of it: each file is written beside its
target under a partial name (``.<name>.partial-<pid>``) and renamed into place, and a write
that fails says why in words and leaves the previous file as it was.

The batch job writes several files this way and renames them together
(:mod:`walkaway.serving.batch`); :func:`write_text` does it for one text file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

from walkaway.errors import WalkawayError


class OutputError(WalkawayError):
    """An output cannot be written where it was asked for; the previous outputs are kept."""


def partial_path(target: Path) -> Path:
    """The temporary file a target is written to before it is renamed into place.

    >>> partial_path(Path("out/scored.csv")).name.startswith(".scored.csv.partial-")
    True
    """
    return target.with_name(f".{target.name}.partial-{os.getpid()}")


def remove_partial(path: Path) -> None:
    """Remove a partial file if there is one; a folder that never existed has none."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def remove_stale_partials(target: Path) -> None:
    """Partial files (or folders, of part files) of runs that were killed outright (no chance
    to clean up) are garbage."""
    for stale in target.parent.glob(f".{target.name}.partial-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                remove_partial(stale)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cannot_write(path: Path, error: OSError) -> OutputError:
    """An operating-system error writing ``path``, in words."""
    # Keyed like OSError.errno, which is None for errors raised without one.
    reasons: dict[int | None, str] = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EFBIG: "the file is too large for this file system or limit",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
    }
    reason = reasons.get(error.errno, error.strerror or type(error).__name__)
    return OutputError(f"cannot write {path}: {reason}; the previous outputs are unchanged")


def write_text(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` through a partial file renamed into place.

    Raises
    ------
    OutputError
        When the folder cannot be made or the file cannot be written; ``target`` is then as
        it was and no partial file is left.
    """
    target = Path(target)
    partial = partial_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(target)
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as error:
        raise cannot_write(target, error) from None
    finally:
        remove_partial(partial)
