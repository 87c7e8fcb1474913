"""Compressed streams: gzip, bzip2, xz and zstd, told apart by their magic bytes when reading.

Libraries, chosen by measurement (see the README): zlib-ng for gzip (decompression
about twice as fast as the standard library, level-4 compression about three times
as fast as ``gzip -6`` for output within 4 % of its size; decompression in a background
thread, compression in ``--jobs`` threads, block by block (:class:`_GzipBlocks`), so both
overlap the conversion), ``zstandard`` for zstd, and the standard library's ``bz2`` and ``lzma``.

Every reader raises :class:`InputError` naming the file when the data is corrupt or
truncated: a damaged archive is never read as a shorter one.
"""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from collections import deque
from collections.abc import Callable
from enum import Enum
from pathlib import PurePath
from typing import BinaryIO, NamedTuple, Protocol

from ..errors import InputError, os_reason

__all__ = ["COMPRESSED_SUFFIXES", "Codec", "Reader", "Source", "codec_for_name", "open_piecewise", "open_reader",
           "open_writer", "sniff"]


class Codec(str, Enum):
    """A compression format (``NONE``: plain bytes)."""

    NONE = "none"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    ZSTD = "zstd"

    @property
    def suffix(self) -> str:
        """The file-name suffix this format is written with (``""`` for none)."""
        return _SUFFIXES[self]


_SUFFIXES = {Codec.NONE: "", Codec.GZIP: ".gz", Codec.BZIP2: ".bz2", Codec.XZ: ".xz", Codec.ZSTD: ".zst"}
_BY_SUFFIX = {".gz": Codec.GZIP, ".gzip": Codec.GZIP, ".bz2": Codec.BZIP2, ".xz": Codec.XZ, ".zst": Codec.ZSTD,
              ".zstd": Codec.ZSTD}
#: The suffixes that name a compression, in the one list the converter and the audit share.
COMPRESSED_SUFFIXES = tuple(_BY_SUFFIX)
_MAGIC = ((b"\x1f\x8b", Codec.GZIP), (b"BZh", Codec.BZIP2), (b"\xfd7zXZ\x00", Codec.XZ),
          (b"\x28\xb5\x2f\xfd", Codec.ZSTD))
#: How many bytes :func:`sniff` needs.
MAGIC_BYTES = 6
#: gzip level: measured to give output within 10 % of ``gzip -6`` at a fraction of its time.
GZIP_LEVEL = 4
ZSTD_LEVEL = 3


#: What any reader raises on corrupt or truncated data (each codec's library adds its own error).
_CORRUPT: tuple[type[Exception], ...] = (OSError, EOFError, zlib.error, ValueError)


def _corrupt(codec: Codec) -> tuple[type[Exception], ...]:
    """What reading ``codec`` raises on corrupt or truncated data. The codec libraries are imported
    when a file needs them: a run on plain files does not pay for them."""
    if codec is Codec.GZIP:
        from zlib_ng import zlib_ng

        error: type[Exception] = zlib_ng.error  # type: ignore[assignment]  # typed as an instance in its stubs
        return (*_CORRUPT, error)
    if codec is Codec.XZ:
        import lzma

        return (*_CORRUPT, lzma.LZMAError)
    if codec is Codec.ZSTD:
        import zstandard

        return (*_CORRUPT, zstandard.ZstdError)
    return _CORRUPT


class _Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...
    def close(self) -> None: ...


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...
    def close(self) -> None: ...


def sniff(head: bytes) -> Codec:
    """The compression format whose magic bytes start ``head``."""
    for magic, codec in _MAGIC:
        if head.startswith(magic):
            return codec
    return Codec.NONE


def codec_for_name(name: str | PurePath) -> Codec:
    """The compression format a file name asks for, by its last suffix."""
    return _BY_SUFFIX.get(PurePath(name).suffix.lower(), Codec.NONE)


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, /) -> bytes: ...


class _Streams(io.RawIOBase):
    """Reads concatenated compressed streams (bzip2, xz, zstd) strictly.

    After each stream, what follows must be another valid stream (or, for xz, null padding):
    trailing garbage, a damaged later stream or a truncated last one is an error, never the
    end of the data. (The standard library's readers take anything after a first stream that
    does not start like one as the end.)
    """

    def __init__(self, raw: BinaryIO, new: Callable[[], _Decompressor], kind: str, *, padding: bool = False) -> None:
        self._raw = raw
        self._new = new
        self._kind = kind
        self._padding = padding
        self._stream = new()
        self._started = False
        self._input = b""
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if not self._input:
                self._input = self._raw.read(1 << 16)
                if not self._input:
                    if self._started:
                        raise EOFError(f"{self._kind} data ends inside a stream (the file is truncated)")
                    return 0
            if not self._started and self._padding:
                self._input = self._input.lstrip(b"\0")
                if not self._input:
                    continue
            self._started = True
            self._pending = self._stream.decompress(self._input)
            self._input = b""
            if self._stream.eof:
                self._input = self._stream.unused_data
                self._stream = self._new()
                self._started = False
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _Checked(io.RawIOBase):
    """A decompressing stream whose every failure is an :class:`InputError` naming the source."""

    def __init__(self, stream: _Readable, codec: Codec, source: str, underlying: BinaryIO) -> None:
        self._stream = stream
        self._underlying = underlying
        self.codec = codec
        self.source = source
        self._errors = _corrupt(codec)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            return self._stream.readinto(buffer) or 0
        except self._errors as error:
            detail = str(error) or type(error).__name__
            raise InputError(f"cannot read {self.source}: its {self.codec.value} data is corrupt or truncated "
                             f"({detail})") from None

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(*self._errors):
                self._stream.close()
            self._underlying.close()
        super().close()


class Source(io.RawIOBase):
    """The raw bytes of an input, counted, with the bytes read to sniff it put back in front."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head = head
        self._raw = raw
        #: How many raw (compressed) bytes have been read so far.
        self.position = 0

    def readable(self) -> bool:
        return True

    @property
    def buffered(self) -> int:
        """How many of the bytes put back in front are still to be read."""
        return len(self._head)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
        else:
            size = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self.position += size
        return size

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class Reader(NamedTuple):
    """An opened input: the decompressed stream, its format, and the counted raw source."""

    stream: BinaryIO
    codec: Codec
    source: Source


def open_reader(raw: BinaryIO, source: str, *, threaded: bool = True, head: bytes = b"") -> Reader:
    """Wrap ``raw`` so that reading gives the decompressed bytes, whatever the format.

    ``threaded``: decompress gzip in a background thread (worth it for large inputs; starting
    and stopping the thread costs tens of milliseconds). ``head``: bytes already read from
    ``raw``. Closing the returned stream closes ``raw``.
    """
    try:
        if len(head) < MAGIC_BYTES:
            head += raw.read(MAGIC_BYTES - len(head))
    except OSError as error:
        raise InputError(f"cannot read {source}: {os_reason(error)}") from None
    codec = sniff(head)
    counted = Source(head, raw)
    whole: BinaryIO = io.BufferedReader(counted, buffer_size=1 << 16)
    if codec is Codec.NONE:
        return Reader(whole, codec, counted)
    stream: _Readable
    if codec is Codec.GZIP:
        if threaded:
            from zlib_ng import gzip_ng_threaded  # it pulls in multiprocessing

            stream = gzip_ng_threaded.open(whole, "rb")  # type: ignore[no-untyped-call]
        else:
            from zlib_ng import gzip_ng

            stream = gzip_ng.open(whole, "rb")  # type: ignore[no-untyped-call]
    elif codec is Codec.BZIP2:
        import bz2

        stream = _Streams(whole, bz2.BZ2Decompressor, "bzip2")
    elif codec is Codec.XZ:
        import lzma

        stream = _Streams(whole, lzma.LZMADecompressor, "xz", padding=True)
    else:
        import zstandard

        stream = _Streams(whole, lambda: zstandard.ZstdDecompressor().decompressobj(), "zstd")
    checked = _Checked(stream, codec, source, whole)
    return Reader(io.BufferedReader(checked, buffer_size=1 << 20), codec, counted)


def open_piecewise(raw: BinaryIO, source: str, head: bytes = b"") -> tuple[io.RawIOBase, Codec, Source]:
    """Like :func:`open_reader`, for an input that may stall (a pipe): each ``readinto`` of the result
    gives what one read of ``raw`` brought, decompressed, instead of waiting for a full buffer.

    ``raw`` must give what it holds on each read (an unbuffered pipe: ``io.FileIO``). gzip is
    decompressed here with zlib-ng's streaming decompressor (its file readers wait for full
    blocks), member after member as the other formats are.
    """
    try:
        while len(head) < MAGIC_BYTES and (block := raw.read(MAGIC_BYTES - len(head))):
            head += block  # a pipe may give the magic bytes a few at a time
    except OSError as error:
        raise InputError(f"cannot read {source}: {os_reason(error)}") from None
    codec = sniff(head)
    counted = Source(head, raw)
    whole: BinaryIO = counted  # type: ignore[assignment]  # read a piece at a time, never buffered
    if codec is Codec.NONE:
        return counted, codec, counted
    stream: _Readable
    if codec is Codec.GZIP:
        from zlib_ng import zlib_ng

        stream = _Streams(whole, lambda: zlib_ng.decompressobj(wbits=31), "gzip")
    elif codec is Codec.BZIP2:
        import bz2

        stream = _Streams(whole, bz2.BZ2Decompressor, "bzip2")
    elif codec is Codec.XZ:
        import lzma

        stream = _Streams(whole, lzma.LZMADecompressor, "xz", padding=True)
    else:
        import zstandard

        stream = _Streams(whole, lambda: zstandard.ZstdDecompressor().decompressobj(), "zstd")
    return _Checked(stream, codec, source, whole), codec, counted


#: The 10 bytes before the deflate data of the gzip files written here: deflate, no name, mtime 0 (the same
#: input gives the same bytes), no extra flags, OS unknown (RFC 1952).
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
#: About this much written text becomes one block of the gzip stream, compressed by one thread.
GZIP_BLOCK_BYTES = 1 << 20
_WINDOW = 1 << 15  # deflate's: a block is compressed with the last 32 KB of the one before as its dictionary


class _GzipBlocks:
    """One gzip stream whose blocks of about ``GZIP_BLOCK_BYTES`` are compressed by ``threads`` background
    threads at once (as pigz does: each block ends with a sync flush and starts from the last 32 KB of the
    one before, so the output is one ordinary gzip member, within a fraction of a percent of the size one
    thread would make). The blocks are handed on as written, not copied (a converted chunk is one block),
    and the compressed blocks are written to ``raw`` in order by the writing thread; at most ``threads + 1``
    blocks are in flight, so a writer faster than the compressors waits for them. Closing it finishes the
    stream and leaves ``raw`` open."""

    def __init__(self, raw: BinaryIO, threads: int) -> None:
        from concurrent.futures import Future, ThreadPoolExecutor

        from zlib_ng import zlib_ng

        self._zlib = zlib_ng
        self._raw = raw
        self._threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="migrate1to2-gzip")
        self._pending: deque[Future[tuple[bytes, int, int]]] = deque()
        self._parts: list[bytes] = []
        self._size = 0
        self._previous = b""
        self._crc = 0
        self._length = 0
        raw.write(_GZIP_HEADER)

    def _compress(self, block: bytes, zdict: memoryview) -> tuple[bytes, int, int]:
        """In a pool thread (zlib-ng lets go of the GIL): the block's deflate data, its CRC and length."""
        zlib_ng = self._zlib
        compressor = (zlib_ng.compressobj(GZIP_LEVEL, zlib_ng.DEFLATED, -15, zdict=zdict) if len(zdict)
                      else zlib_ng.compressobj(GZIP_LEVEL, zlib_ng.DEFLATED, -15))
        return compressor.compress(block) + compressor.flush(zlib_ng.Z_SYNC_FLUSH), zlib_ng.crc32(block), len(block)

    def write(self, data: bytes) -> int:
        if data:
            self._parts.append(data if type(data) is bytes else bytes(data))  # a caller's buffer may change
            self._size += len(data)
            if self._size >= GZIP_BLOCK_BYTES:
                self._submit()
                while len(self._pending) > self._threads or (self._pending and self._pending[0].done()):
                    self._put(self._pending.popleft().result())
        return len(data)

    def _submit(self) -> None:
        block = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts, self._size = [], 0
        zdict = memoryview(self._previous)[-_WINDOW:]
        self._previous = block
        self._pending.append(self._pool.submit(self._compress, block, zdict))

    def _put(self, done: tuple[bytes, int, int]) -> None:
        compressed, crc, length = done
        self._crc = self._zlib.crc32_combine(self._crc, crc, length)
        self._length += length
        self._raw.write(compressed)

    def flush(self) -> None:
        """Compress and write everything written so far."""
        if self._parts:
            self._submit()
        while self._pending:
            self._put(self._pending.popleft().result())
        self._raw.flush()

    def close(self) -> None:
        try:
            self.flush()
            self._raw.write(self._zlib.compress(b"", wbits=-15))  # the last block, empty
            self._raw.write(struct.pack("<II", self._crc, self._length & 0xFFFFFFFF))
            self._raw.flush()
        finally:
            for future in self._pending:
                future.cancel()
            self._pending.clear()
            self._pool.shutdown(wait=True)


class _Writer(io.RawIOBase):
    """A compressing stream over ``raw``; closing it finishes the format but leaves ``raw`` open."""

    def __init__(self, raw: BinaryIO, codec: Codec, *, threads: int) -> None:
        self.codec = codec
        self._raw = raw
        self._stream: _Writable
        if codec is Codec.GZIP and threads:
            self._stream = _GzipBlocks(raw, threads)
        elif codec is Codec.GZIP:
            from zlib_ng import gzip_ng

            # mtime 0, as the threaded writer does: the same input gives the same bytes.
            self._stream = gzip_ng.GzipNGFile(  # type: ignore[no-untyped-call]
                fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
        elif codec is Codec.BZIP2:
            import bz2

            self._stream = bz2.BZ2File(raw, "wb")
        elif codec is Codec.XZ:
            import lzma

            self._stream = lzma.LZMAFile(raw, "wb")  # noqa: SIM115 - closed by close()
        else:
            import zstandard

            self._stream = zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(raw, closefd=False)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._stream.write(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def open_writer(raw: BinaryIO, codec: Codec, *, threads: int = 1) -> BinaryIO:
    """A stream that writes ``codec``-compressed bytes to ``raw`` (``raw`` itself for ``NONE``).

    ``threads``: compress gzip in that many background threads (0: in the caller's). Close it to
    finish the compressed format; ``raw`` stays open.
    """
    if codec is Codec.NONE:
        return raw
    return _Writer(raw, codec, threads=threads)  # type: ignore[return-value]
