"""The optional state file: JSON, written atomically after each change, readable only by its owner.

It holds R-kvstore passwords (needed to rebuild redis-server children after a restart), so it
is created with mode 0600.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .state import CloudState


class StateFile:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> CloudState | None:
        """The saved state, or None when there is no file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return CloudState.from_json(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"state file {self.path} is not a valid emulator state: {exc}") from None

    def save(self, state: CloudState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".emulator-state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
                json.dump(state.to_json(), handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
