"""The archive directory: write-once files (read-only once written), read back for verification and export."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class DirectoryArchive:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"archive path outside the archive directory: {relative!r}")
        return path

    def write(self, path: str, content: bytes) -> None:
        """Write ``content`` once. The service only writes files of documents not yet archived, so a file
        already there is the leftover of an attempt whose commit was lost: it is replaced atomically."""
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.read_bytes() == content:
            return
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o444)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def read(self, path: str) -> bytes | None:
        target = self._path(path)
        return target.read_bytes() if target.is_file() else None
