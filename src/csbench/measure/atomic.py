"""csbench's one way to write a file: to a temporary name beside it, flushed, then renamed
over the target, so an interrupted write never leaves half a file (stdlib only: asv's
environment imports it too)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """A file object whose content replaces ``path`` only when the block ends normally."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_open(path) as f:
        f.write(text)
    return Path(path)


def write_json(path: str | os.PathLike[str], data: Any, **dumps: Any) -> Path:
    """Write ``data`` as JSON (and a final newline) to ``path`` atomically."""
    return write_text(path, json.dumps(data, **dumps) + "\n")
