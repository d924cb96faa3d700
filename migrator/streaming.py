"""The statements of a big file, split from disk as they run: memory stays flat whatever the
file's size, and the splitting (pure Python) runs one chunk ahead in a thread while the
database executes the statements before it (the driver waits with the GIL released)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from migrator.errors import LayoutError
from migrator.lexer import LexError, Statement, StatementSplitter
from migrator.model import SqlFile

CHUNK_CHARS = 1 << 18  # read and split this many characters at a time
_CHUNKS_AHEAD = 4  # split chunks waiting for the runner: a few hundred kB, never the file
_END = object()


class FileStatements:
    """Iterating splits the file again; the count is known once a pass has run to the end
    (running the file is such a pass), and len() before that costs a pass of its own."""

    def __init__(self, sql_file: SqlFile, dialect: str) -> None:
        self.file, self.dialect = sql_file, dialect
        self.count: int | None = None

    def __iter__(self) -> Iterator[Statement]:
        for batch in self._batches_ahead():
            yield from batch

    def _batches(self) -> Iterator[list[Statement]]:
        """The statements each chunk completes, in order."""
        splitter = StatementSplitter(self.dialect)
        count = 0
        try:
            with open(self.file.location, encoding="utf-8", newline="") as fh:
                first = True
                while chunk := fh.read(CHUNK_CHARS):
                    if first:
                        chunk, first = chunk.removeprefix("\ufeff"), False
                    batch = splitter.feed(chunk)
                    count += len(batch)
                    yield batch
            batch = splitter.finish()
        except LexError as exc:
            raise LayoutError([f"{self.file.rel}:{exc.line}:{exc.column}: {exc.message}"]) from None
        self.count = count + len(batch)
        yield batch

    def _batches_ahead(self) -> Iterator[list[Statement]]:
        import queue  # only when a big file runs
        import threading

        ready: queue.Queue[Any] = queue.Queue(maxsize=_CHUNKS_AHEAD)
        stop = threading.Event()

        def hand_over(item: Any) -> bool:
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False  # the runner stopped reading (a failure, a signal)

        def split() -> None:
            try:
                for batch in self._batches():
                    if not hand_over(batch):
                        return
                hand_over(_END)
            except BaseException as exc:  # noqa: BLE001 - handed to the runner's thread
                hand_over(exc)

        threading.Thread(target=split, name=f"split {self.file.rel}", daemon=True).start()
        try:
            while (item := ready.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()

    def __len__(self) -> int:
        if self.count is None:
            for _ in self._batches():
                pass
        assert self.count is not None
        return self.count
