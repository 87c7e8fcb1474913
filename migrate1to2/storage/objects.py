"""Objects in stores (fsspec URLs) behind the interfaces of local files: an input read as a stream, an
output that appears only when complete, existence for ``--skip-existing``, listing a prefix for trees.

- Reading (:func:`open_object`): a background thread reads the object in blocks of
  :data:`READ_BLOCK` bytes (ranged reads) ahead of the conversion, at most :data:`READ_AHEAD` blocks
  ahead, so memory stays bounded and the network overlaps the work.
- Writing (:class:`AtomicObject`): what is written goes to a background thread that feeds the
  store's upload (for S3, a multipart upload, one part per :data:`PART_BYTES`), so parts upload while
  the conversion goes on. The file is opened with ``autocommit=False``: the object appears only on
  :meth:`AtomicObject.commit` (the multipart upload completed); :meth:`AtomicObject.discard` aborts
  the upload, so a failed or interrupted run leaves no partial object and no open multipart upload
  (fsspec's ``with`` block is not used: it commits on the way out of an exception too). With
  ``exclusive`` the object is created only if it does not exist (``If-None-Match: *``, where the store
  supports it: S3 and stores that implement its conditional writes), so two runs cannot both write it.
- Errors of every store call become a :class:`~.urls.StoreError` naming the URL (masked) and what to do.

Imported only when a URL is used: a run on local files never loads fsspec.
"""

from __future__ import annotations

import contextlib
import errno
import io
import queue
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

from .compression import Codec, codec_for_name, open_writer
from .tree import Entry, Kind
from .urls import StoreError, filesystem, mask, protocol

__all__ = ["PART_BYTES", "READ_AHEAD", "READ_BLOCK", "AtomicObject", "ObjectLister",
           "abort_stale_uploads", "exists", "is_prefix", "open_object", "size", "store_error"]

#: Bytes per ranged read of an object.
READ_BLOCK = 8 << 20
#: How many blocks the reading thread may hold ahead of the conversion.
READ_AHEAD = 2
#: Bytes per uploaded part (S3's minimum is 5 MiB).
PART_BYTES = 8 << 20
#: Writes the uploading thread may hold before the conversion waits for it (each at most a unit's output).
WRITE_AHEAD = 8

_QUERY = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s\"'?#]*)[?#][^\s\"']*", re.IGNORECASE)


def _scrub(text: str) -> str:
    """A store's message without the query strings of any URL it quotes (a signature, a token)."""
    return _QUERY.sub(lambda match: match.group(1) + "?…", text)


_AZURE = ("az", "abfs", "abfss")


def commits_on_close(handle: Any) -> bool:
    """Whether a store's file makes its object when closed, whatever ``autocommit`` says: adlfs's files
    (Azure) stage blocks as they are written and commit the block list on ``close()``, and their
    ``commit()``/``discard()`` are fsspec's no-ops. Such a file is closed only to make the object."""
    from fsspec.spec import AbstractBufferedFile

    return getattr(type(handle), "commit", None) is AbstractBufferedFile.commit


def _code(error: BaseException) -> str:
    """The store's error code (``NoSuchBucket``, ``AccessDenied``, Azure's ``ContainerNotFound``...), where
    the error carries one."""
    for each in (error, error.__cause__, error.__context__):
        if getattr(each, "status_code", None) == 403 and "failed to authenticate" in str(each):
            return "AuthenticationFailed"  # azure.core's errors: a HEAD request's has no body to name it
        azure_code = getattr(each, "error_code", None)  # azure.core's errors: a str enum, or a str
        if isinstance(azure_code, str) and azure_code:
            return str(getattr(azure_code, "value", azure_code))
        response = getattr(each, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", ""))
    return ""


def _message(error: BaseException) -> str:
    """The store's own message (``Access Denied``), where the error carries one, else the error's text."""
    for each in (error, error.__cause__, error.__context__):
        response = getattr(each, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Message"):
            return str(response["Error"]["Message"])
    return str(error).strip() or type(error).__name__


def _names(error: BaseException) -> set[str]:
    return {kind.__name__ for kind in type(error).__mro__}


def store_error(url: str, error: BaseException, doing: str = "read") -> StoreError:
    """The :class:`StoreError` for ``error`` raised by a store while doing ``doing`` (read, write, list) ``url``."""
    if isinstance(error, StoreError):
        return error
    where = f"cannot {doing} {mask(url)}"
    code, names = _code(error), _names(error)
    detail = _scrub(_message(error)).splitlines()[0]  # Azure's errors go on with the request id and XML
    host = url.split("://", 1)[-1].split("/", 1)[0]
    if "@" in host:  # a user or password written in the URL: never repeated
        detail = detail.replace(host.rsplit("@", 1)[0], "…")
    if "NoCredentialsError" in names or "PartialCredentialsError" in names:
        return StoreError(f"{where}: no credentials were found. Set them as the store's own tools read them (for "
                          "S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role), or "
                          "give --storage-option anon=true for a public bucket")
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                "AuthenticationFailed") or \
            "InvalidAccessKeyId" in detail or "SignatureDoesNotMatch" in detail:
        return StoreError(f"{where}: the store refused the credentials ({code or detail}); check the access key "
                          "and secret (or the profile) in use, and that they are not expired")
    if code == "NoSuchBucket" or "NoSuchBucket" in detail or "bucket does not exist" in detail.lower():
        return StoreError(f"{where}: the bucket does not exist; check the URL (and the store: --storage-option "
                          "endpoint_url=... for another S3 service)")
    if code == "ContainerNotFound":
        return StoreError(f"{where}: the container does not exist; check the URL (and the account in use)")
    if isinstance(error, PermissionError) or code in ("AccessDenied", "AllAccessDisabled", "403",
                                                      "AuthorizationFailure", "AuthorizationPermissionMismatch"):
        return StoreError(f"{where}: permission denied ({detail}); check that the credentials in use may "
                          f"{'write' if doing == 'write' else doing} there (the bucket's policy, the role's rights)")
    if isinstance(error, FileExistsError) or code == "PreconditionFailed":
        return StoreError(f"{where}: another run wrote it while this one converted it (the store refused to "
                          "replace it: conditional create); nothing was written by this run. Rerun with "
                          "--skip-existing to go on with the rest")
    if isinstance(error, FileNotFoundError) and doing == "write":  # gcsfs: no bucket to write in
        return StoreError(f"{where}: the bucket does not exist; check the URL")
    if isinstance(error, FileNotFoundError) or code in ("NoSuchKey", "404"):
        if doing == "list":
            return StoreError(f"{where}: nothing is stored under this prefix; check the URL")
        return StoreError(f"{where}: no such object; check the URL")
    if code in ("SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "503") or \
            "SlowDown" in detail or "reduce your request rate" in detail.lower():
        return StoreError(f"{where}: the store is throttling requests and kept refusing after retries; rerun "
                          "later (with --skip-existing to keep what is done), or with fewer --jobs")
    if names & {"EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError", "ReadTimeoutError",
                "ClientConnectorError", "ServerDisconnectedError", "ClientOSError", "ClientPayloadError",
                "ConnectionError", "TimeoutError", "FSTimeoutError", "ResponseStreamingError",
                "IncompleteReadError", "ConnectionRefusedError", "ConnectionResetError", "ServiceRequestError",
                "ServiceResponseError"}:
        return StoreError(f"{where}: the connection to the store failed after retries ({detail}); check the "
                          "network and the endpoint, then rerun with --skip-existing to resume")
    return StoreError(f"{where}: {detail}")


def no_bucket(url: str, doing: str) -> StoreError:
    """The bucket (or container) of ``url`` does not exist: said as each store's tests expect it."""
    where = f"cannot {doing} {mask(url)}"
    if protocol(url) in ("az", "abfs", "abfss", "adl"):
        return StoreError(f"{where}: the container does not exist; check the URL (and the account in use)")
    if protocol(url) in ("s3", "s3a"):
        return StoreError(f"{where}: the bucket does not exist; check the URL (and the store: --storage-option "
                          "endpoint_url=... for another S3 service)")
    return StoreError(f"{where}: the bucket does not exist; check the URL")


def _call(url: str, doing: str, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except StoreError:
        raise
    except Exception as error:
        raise store_error(url, error, doing) from None


# --- what is there ------------------------------------------------------------------------------

def exists(url: str) -> bool:
    """Whether the object ``url`` exists (an output there is complete: objects appear only whole)."""
    fs, path = filesystem(url)

    def look() -> bool:
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return False
        return bool(info.get("type") != "directory")

    fs.invalidate_cache(path)
    return bool(_call(url, "read", look))


#: Sizes of objects found by listing a prefix (no request per object to tell a tree's size).
_sizes: dict[str, int] = {}


def size(url: str) -> int:
    known = _sizes.get(url)
    if known is not None:
        return known
    fs, path = filesystem(url)
    return int(_call(url, "read", lambda: fs.size(path)) or 0)


def is_prefix(url: str, doing: str = "read") -> bool:
    """Whether ``url`` names a folder of objects (ends with ``/``, a bucket, or a prefix holding objects)."""
    if url.endswith("/"):
        return True
    fs, path = filesystem(url)
    if "/" not in path.strip("/"):
        return True  # a bucket (or container) itself

    def look() -> bool:
        try:
            return bool(fs.isdir(path))
        except FileNotFoundError:  # no such bucket: reading or writing there will say so
            return False

    return bool(_call(url, doing, look))


class ObjectLister:
    """Prefixes of an object store as folders, for :func:`~.tree.walk` (one listing request per folder).

    Objects are files (with their sizes, kept for :func:`size`); the common prefixes below a folder are
    folders; a folder marker (an empty object named ``folder/``) is not an entry. A prefix that cannot be
    listed raises :class:`OSError`, which the walker reports; :attr:`reasons` keeps the store's full message
    for it.
    """

    def __init__(self) -> None:
        #: Why each folder that could not be listed could not be (the :class:`StoreError`'s message, after the URL).
        self.reasons: dict[str, str] = {}

    def join(self, folder: str, name: str) -> str:
        return folder.rstrip("/") + "/" + name

    def list(self, folder: str) -> Sequence[Entry]:
        fs, path = filesystem(folder)
        base = path.rstrip("/")
        scheme = protocol(folder)
        try:
            fs.invalidate_cache(base)
            bucket = base.split("/", 1)[0]
            try:
                infos = _call(folder, "list", lambda: fs.ls(base, detail=True))
            except StoreError:
                infos = None
            # adlfs lists nothing in a container that does not exist; gcsfs and s3fs raise FileNotFoundError
            # for a missing bucket and a prefix with nothing under it alike: tell them apart.
            if not infos and not _call(folder, "list", lambda: fs.exists(bucket)):
                raise no_bucket(folder, "list")
            if infos is None:
                infos = _call(folder, "list", lambda: fs.ls(base, detail=True))
        except StoreError as error:
            reason = str(error).split(": ", 1)[-1]
            self.reasons[folder] = reason
            raise OSError(errno.EIO, reason) from None
        entries = []
        for info in infos:
            name = str(info["name"]).rstrip("/")
            if name == base or not name.startswith(base + "/"):
                continue  # the folder itself, or its marker
            leaf = name[len(base) + 1:]
            if info.get("type") == "directory":
                entries.append(Entry(leaf, Kind.FOLDER))
            else:
                _sizes[f"{scheme}://{name}"] = int(info.get("size") or 0)
                entries.append(Entry(leaf, Kind.FILE, size=int(info.get("size") or 0)))
        return entries


# --- reading ------------------------------------------------------------------------------------

class _ReadAhead(io.RawIOBase):
    """An object's bytes, read in blocks by a background thread ahead of the reader (bounded)."""

    def __init__(self, url: str, handle: Any) -> None:
        self._url = url
        self._handle = handle
        self._blocks: queue.Queue[bytes | BaseException | None] = queue.Queue(READ_AHEAD)
        self._pending = memoryview(b"")
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._fill, daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                block = self._handle.read(READ_BLOCK)
                self._put(block or None)
                if not block:
                    return
        except BaseException as error:  # given to the reader, which raises it in its own thread
            self._put(error)

    def _put(self, item: bytes | BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._blocks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            if self._done:
                return 0
            item = self._blocks.get()
            if item is None:
                self._done = True
                return 0
            if isinstance(item, BaseException):
                self._done = True
                raise store_error(self._url, item, "read")
            self._pending = memoryview(item)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    self._blocks.get_nowait()
            self._thread.join()
            with contextlib.suppress(Exception):
                self._handle.close()
        super().close()


def open_object(url: str) -> BinaryIO:
    """Open the object ``url`` for reading its bytes as stored, read ahead in a background thread."""
    fs, path = filesystem(url)
    try:
        handle = fs.open(path, "rb", block_size=READ_BLOCK, cache_type="none")
    except FileNotFoundError as error:
        if _call(url, "list", lambda: fs.isdir(path)):
            raise StoreError(f"cannot read {mask(url)}: it is a folder (a prefix of objects); give -o DEST/ to "
                             "mirror it") from None
        raise store_error(url, error, "read") from None
    except Exception as error:
        raise store_error(url, error, "read") from None
    return io.BufferedReader(_ReadAhead(url, handle), 1 << 20)


# --- writing ------------------------------------------------------------------------------------

class _Upload(io.RawIOBase):
    """The bytes of an object being written, handed to a thread that feeds the store's file (its parts
    upload there while the conversion goes on)."""

    def __init__(self, url: str, handle: Any) -> None:
        self.url = url
        self.handle = handle
        self.written = 0
        self._items: queue.Queue[bytes | None] = queue.Queue(WRITE_AHEAD)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        from .files import pause_point

        while True:
            item = self._items.get()
            if item is None:
                return
            if self._error is None:
                parts = len(getattr(self.handle, "parts", None) or ())
                try:
                    self.handle.write(item)
                except BaseException as error:
                    self._error = error
                if len(getattr(self.handle, "parts", None) or ()) > parts:
                    pause_point("uploaded")

    def _check(self) -> None:
        if self._error is not None:
            raise store_error(self.url, self._error, "write")

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._check()
        if data:
            self._items.put(bytes(data))
            self.written += len(data)
        return len(data)

    def finish(self) -> None:
        """Wait until every byte is handed over; the store's file then uploads its last part."""
        if self._thread.is_alive():
            self._items.put(None)
            self._thread.join()
        self._check()
        if not commits_on_close(self.handle):
            self.handle.close()  # autocommit=False: the last part is uploaded, the object not yet made

    def make(self) -> None:
        """Make the object from what was uploaded (complete the upload)."""
        if commits_on_close(self.handle):
            self.handle.close()  # adlfs: closing commits the staged blocks (Put Block List)
        else:
            self.handle.commit()

    def stop(self) -> None:
        """Stop feeding (the upload is then discarded)."""
        if self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                while True:
                    self._items.get_nowait()
            self._error = self._error or RuntimeError("stopped")
            self._items.put(None)
            self._thread.join()

    def close(self) -> None:  # the compressor closes its raw stream: finishing is finish()'s job
        pass


class AtomicObject:
    """An object that appears in its store only when complete, with the interface of
    :class:`~.files.AtomicFile` (``write``, ``commit``, ``discard``, ``size``, ``target``).

    ``exclusive``: create it only if there is no such object (conditional create), so that a run
    resuming with ``--skip-existing`` never replaces one another run completed meanwhile.
    ``keep_existing``: start from the object's current content (what is written is appended).
    """

    def __init__(self, url: str, codec: Codec | None = None, *, threads: int = 1, keep_existing: bool = False,
                 exclusive: bool = False) -> None:
        from .files import shielded

        self.path = url
        self.target = url
        self.temp = None
        self.codec = codec_for_name(url.split("?", 1)[0]) if codec is None else codec
        self.done = False
        self.size = 0
        self.exclusive = exclusive
        self._shielded = shielded
        fs, path = filesystem(url)
        self._fs, self._key = fs, path
        mode = "xb" if exclusive and protocol(url) in ("s3", "s3a", *_AZURE) else "wb"
        handle = _call(url, "write", lambda: fs.open(path, mode, autocommit=False, block_size=PART_BYTES))
        self._upload = _Upload(url, handle)
        if keep_existing:
            try:
                with open_object(url) as existing:
                    while block := existing.read(1 << 20):
                        self._upload.write(block)
            except StoreError as error:
                if "no such object" not in str(error):
                    self.discard()
                    raise
        self._sink: BinaryIO | _Upload = open_writer(self._upload, self.codec,  # type: ignore[arg-type]
                                                     threads=threads)

    def write(self, data: bytes) -> None:
        try:
            with self._shielded():
                self._sink.write(data)
        except StoreError:
            self.discard()
            raise
        except OSError as error:
            self.discard()
            raise store_error(self.path, error, "write") from None

    def commit(self, before_rename: Callable[[Any], object] | None = None) -> None:
        """Upload what is left and make the object (complete the multipart upload)."""
        if self.done:
            return
        self.done = True
        from .files import pause_point

        with self._shielded():
            try:
                if self._sink is not self._upload:
                    self._sink.close()
                self._upload.finish()
                self.size = self._upload.written
                if before_rename is not None:
                    before_rename(None)
                pause_point("rename")
                _call(self.path, "write", self._upload.make)
                pause_point("committed")
            except BaseException as error:
                self.done = False
                self.discard()
                if isinstance(error, Exception) and not isinstance(error, StoreError):
                    raise store_error(self.path, error, "write") from None
                raise

    def discard(self) -> None:
        """Drop what was written: the upload is aborted, the store is left as it was."""
        if self.done:
            return
        self.done = True
        with self._shielded():
            self._upload.stop()
            with contextlib.suppress(Exception):
                self._sink.close()
            handle = self._upload.handle
            with contextlib.suppress(Exception):
                handle.discard()
            handle.closed = True  # neither close() nor the garbage collector's __del__ may now commit it
            if getattr(handle, "mpu", None):  # the abort failed (the store is gone): say nothing more here
                pass


def abort_stale_uploads(targets: list[str], started: float) -> list[str]:
    """Abort the multipart uploads that killed runs left on the objects ``targets`` (S3 only): those begun
    before ``started`` (this run's start, seconds since the epoch). Returns the URLs whose uploads were aborted.

    A run killed with ``kill -9`` cannot abort its own upload; its parts stay (invisible, but billed) until a
    run writing the same objects aborts them, or the bucket's lifecycle rule does.
    """
    by_bucket: dict[tuple[str, str], set[str]] = {}
    for url in targets:
        if protocol(url) not in ("s3", "s3a"):
            continue
        fs, path = filesystem(url)
        bucket, _, key = path.partition("/")
        by_bucket.setdefault((protocol(url), bucket), set()).add(key)
    aborted = []
    for (scheme, bucket), keys in by_bucket.items():
        fs, _ = filesystem(f"{scheme}://{bucket}")
        prefix = _common_prefix(keys)

        def uploads(fs: Any = fs, bucket: str = bucket, prefix: str = prefix) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            marker: dict[str, str] = {}
            while True:
                page = fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix, **marker)
                found += page.get("Uploads", [])
                if not page.get("IsTruncated"):
                    return found
                marker = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}

        try:
            found = _call(f"{scheme}://{bucket}/{prefix}", "list", uploads)
        except StoreError:  # no such bucket, or no right to list uploads: nothing this run can clean up
            continue
        for upload in found:
            initiated = upload.get("Initiated")
            if upload["Key"] in keys and (initiated is None or initiated.timestamp() < started):
                url = f"{scheme}://{bucket}/{upload['Key']}"
                _abort(fs, url, bucket, upload)
                aborted.append(url)
    return aborted


def _abort(fs: Any, url: str, bucket: str, upload: dict[str, Any]) -> None:
    _call(url, "write", lambda: fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=upload["Key"],
                                           UploadId=upload["UploadId"]))


def _common_prefix(keys: set[str]) -> str:
    ordered = sorted(keys)
    first, last = ordered[0], ordered[-1]
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]
