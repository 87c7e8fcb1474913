"""URLs of object stores (``s3://``, ``gs://``, ``az://``, any protocol fsspec knows): telling them from
local paths, naming them safely, the storage options and the file system behind each.

Nothing here imports fsspec until a URL is used: :func:`is_url` and :func:`mask` are plain string
work, so a run on local files never loads it. ``file://`` URLs are local paths (:func:`local_path`).

Messages name a URL through :func:`mask`: a query string (a signed URL's signature, a SAS token)
and a user or password written in the URL are never shown.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InputError

__all__ = ["EXTRAS", "MissingExtra", "StoreError", "filesystem", "is_url", "local_path", "mask", "protocol",
           "set_storage_options", "storage_options"]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")

#: The extra that installs each protocol's file system, and the package it installs.
EXTRAS: dict[str, tuple[str, str]] = {
    "s3": ("s3", "s3fs"), "s3a": ("s3", "s3fs"),
    "gs": ("gcs", "gcsfs"), "gcs": ("gcs", "gcsfs"),
    "az": ("azure", "adlfs"), "abfs": ("azure", "adlfs"), "abfss": ("azure", "adlfs"), "adl": ("azure", "adlfs"),
}


class StoreError(InputError):
    """An object store could not be read or written (exit code 2); the message names the URL, masked."""


class MissingExtra(StoreError):
    """A URL whose protocol needs a package that is not installed."""


def is_url(name: str) -> bool:
    """Whether ``name`` is a URL (``scheme://...``) rather than a local path (``file://`` counts as a URL)."""
    return _SCHEME.match(name) is not None


def protocol(name: str) -> str:
    match = _SCHEME.match(name)
    return match.group(1).lower() if match else ""


def local_path(name: str) -> str:
    """A ``file://`` URL as the local path it names (other names unchanged): local files behave as local
    files, however they are written."""
    if protocol(name) == "file":
        path = name[len("file://"):]
        return path[len("localhost"):] if path.startswith("localhost/") else path
    return name


def mask(name: str) -> str:
    """A URL as messages may show it: no query string or fragment (``?…``), no user or password."""
    match = _SCHEME.match(name)
    if not match:
        return name
    rest = name[match.end():]
    cut = min((index for index in (rest.find("?"), rest.find("#")) if index >= 0), default=-1)
    if cut >= 0:
        rest = rest[:cut] + "?…"
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = "…@" + host.rsplit("@", 1)[1]
    return f"{match.group(1)}://{host}{slash}{path}"


_options: dict[str, Any] = {}
_filesystems: dict[str, Any] = {}


def set_storage_options(options: dict[str, Any]) -> None:
    """The options every store of this process is opened with (``--storage-option``); see :func:`filesystem`."""
    _options.clear()
    _options.update(options)
    _filesystems.clear()


def storage_options() -> dict[str, Any]:
    return dict(_options)


#: Retries of transient errors (throttling, 5xx, dropped connections) with backoff, by botocore itself.
_S3_RETRIES = {"max_attempts": 5, "mode": "standard"}


def _defaults(scheme: str, options: dict[str, Any]) -> dict[str, Any]:
    if EXTRAS.get(scheme, ("",))[0] == "s3":
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("retries", dict(_S3_RETRIES))
        config.setdefault("connect_timeout", 10)
        config.setdefault("read_timeout", 60)
        options = {**options, "config_kwargs": config}
    return options


def missing_extra(scheme: str, url: str) -> MissingExtra:
    extra, package = EXTRAS.get(scheme, ("", ""))
    if extra:
        return MissingExtra(f"cannot open {mask(url)}: {scheme}:// URLs need {package}, which is not installed: "
                            f"pip install 'migrate1to2[{extra}]'")
    return MissingExtra(f"cannot open {mask(url)}: URLs need fsspec, which is not installed: "
                        "pip install 'migrate1to2[s3]' (or [gcs], [azure]) for the stores it names")


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system serving ``url`` (one per protocol, cached) and the path of ``url`` in it.

    :class:`MissingExtra` when the protocol's package is not installed, :class:`StoreError` when
    fsspec does not know the protocol.
    """
    scheme = protocol(url)
    try:
        import fsspec
        from fsspec.registry import known_implementations, registry
    except ImportError:
        raise missing_extra(scheme, url) from None
    if scheme not in known_implementations and scheme not in registry:
        raise StoreError(f"cannot open {mask(url)}: {scheme}:// is not a protocol fsspec knows (it knows s3://, "
                         "gs://, az://, abfs://, http://, ... ); check the URL")
    fs = _filesystems.get(scheme)
    if fs is None:
        try:
            cls = fsspec.get_filesystem_class(scheme)
        except ImportError:
            raise missing_extra(scheme, url) from None
        try:
            fs = cls(**_defaults(scheme, storage_options()))
        except ImportError:
            raise missing_extra(scheme, url) from None
        except Exception as error:
            raise StoreError(f"cannot open {mask(url)}: the storage options do not fit {scheme}:// "
                             f"({type(error).__name__}); check --storage-option") from None
        _filesystems[scheme] = fs
    return fs, str(fs._strip_protocol(url))
