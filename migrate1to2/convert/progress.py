"""A progress line on stderr (bytes, records/s, ETA), drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Counts bytes read (as stored, compressed or not) and records done; redraws at most every ``interval`` s."""

    def __init__(self, total_bytes: int | None, stream: TextIO | None = None, *, interval: float = 0.2) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = total_bytes
        self.done_bytes = 0
        self.current = 0
        self.records = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._interval = interval
        self._visible = False

    def read(self, position: int) -> None:
        """Bytes read so far of the file being read."""
        self.current = position
        self._draw()

    def file_done(self, size: int) -> None:
        self.done_bytes += size
        self.current = 0

    def records_done(self, count: int) -> None:
        self.records += count
        self._draw()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        read = self.done_bytes + self.current
        text = f"{_size(read)}"
        eta = ""
        if self.total:
            text += f" / {_size(self.total)} ({min(read / self.total, 1):.0%})"
            if read:
                eta = f", ETA {_duration(max(self.total - read, 0) * elapsed / read)}"
        return f"{text}, {self.records:,} records, {self.records / elapsed:,.0f} records/s{eta}"

    def _draw(self) -> None:
        now = time.monotonic()
        if now - self._drawn < self._interval:
            return
        self._drawn = now
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
        self._visible = True

    def clear(self) -> None:
        """Remove the line (before the summary is printed)."""
        if self._visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._visible = False
