"""Azure Blob Storage (``az://``, ``abfs://``), tested against Azurite on loopback (see ``tests/emulators.py``),
one emulator for the module; the command line runs as a real subprocess with the emulator's connection
string in ``AZURE_STORAGE_CONNECTION_STRING`` (adlfs reads it), and the store is checked with
azure-storage-blob. The checks every store runs are in ``tests/stores.py``; the ones here pin what adlfs
and the store do that the I/O layer relies on.
"""

from __future__ import annotations

import contextlib
import gc
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from tests import stores
from tests.conftest import unavailable
from tests.emulators import AZURE_ACCOUNT, Azurite, Unavailable, azurite
from tests.stores import (
    BIG,
    RECORDS,
    check_audit_of_a_prefix_reads_as_local_files,
    check_kill_9_before_the_object_is_made,
    check_kill_9_mid_upload_leaves_no_object,
    check_missing_container_is_exit_2_naming_it,
    check_one_object_both_ways,
    check_sigterm_mid_upload_leaves_no_object,
    check_tree_local_to_store_to_local_equals_local_conversion,
    check_tree_store_to_store_with_globs_and_jobs,
    converted,
)


class AzureStore(stores.Store):
    scheme = "az"
    no_container = "the container does not exist; check the URL (and the account in use)"

    def __init__(self, server: Azurite) -> None:
        self.server = server
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("AZURE_")}
        self.env.update(server.env)
        self.service = BlobServiceClient.from_connection_string(server.connection_string)

    def container(self) -> str:
        name = f"c-{uuid.uuid4().hex[:12]}"
        self.service.create_container(name)
        return name

    def put(self, container: str, key: str, data: bytes) -> None:
        self.service.get_container_client(container).upload_blob(key, data, overwrite=True)

    def get(self, container: str, key: str) -> bytes:
        return bytes(self.service.get_container_client(container).download_blob(key).readall())

    def keys(self, container: str) -> list[str]:
        """The blobs there (committed: what readers see)."""
        return sorted(blob.name for blob in self.service.get_container_client(container).list_blobs())


@pytest.fixture(scope="module")
def store() -> Iterator[AzureStore]:
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(azurite())
        except Unavailable as error:
            unavailable(f"Azurite: {error}")
        yield AzureStore(server)


test_one_object_both_ways = check_one_object_both_ways
test_tree_local_to_store_to_local_equals_local_conversion = check_tree_local_to_store_to_local_equals_local_conversion
test_tree_store_to_store_with_globs_and_jobs = check_tree_store_to_store_with_globs_and_jobs
test_audit_of_a_prefix_reads_as_local_files = check_audit_of_a_prefix_reads_as_local_files
test_kill_9_mid_upload_leaves_no_object = check_kill_9_mid_upload_leaves_no_object
test_kill_9_before_the_object_is_made = check_kill_9_before_the_object_is_made
test_sigterm_mid_upload_leaves_no_object = check_sigterm_mid_upload_leaves_no_object
test_missing_container_is_exit_2_naming_it = check_missing_container_is_exit_2_naming_it


def test_abfs_urls_and_a_connection_string_option(store: AzureStore, tmp_path: Path) -> None:
    """``abfs://`` is the same store; the connection string can come from ``--storage-option`` instead of
    the environment (its ``;`` and ``=`` kept), and is never printed."""
    container = store.container()
    store.put(container, "raw/a.ndjson", RECORDS)
    env = {key: value for key, value in store.env.items() if not key.startswith("AZURE_")}
    done = stores.subprocess.run(
        [*stores.CLI, "convert", f"abfs://{container}/raw/a.ndjson", "-o", f"abfs://{container}/v2/a.ndjson",
         "--storage-option", f"connection_string={store.server.connection_string}"],
        env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert store.get(container, "v2/a.ndjson") == converted(RECORDS)
    missing = stores.subprocess.run(
        [*stores.CLI, "convert", f"abfs://nothere-{uuid.uuid4().hex[:6]}/a.ndjson", "--storage-option",
         f"connection_string={store.server.connection_string}"], env=env, capture_output=True, timeout=120, check=False)
    assert missing.returncode == 2
    assert store.server.connection_string.split("AccountKey=")[1][:20] not in missing.stderr.decode()


# --- what adlfs and Azurite do (the I/O layer relies on it) ----------------------------------------

@pytest.fixture
def adlfs_fs(store: AzureStore) -> object:
    import adlfs

    return adlfs.AzureBlobFileSystem(connection_string=store.server.connection_string, skip_instance_cache=True)


def test_adlfs_stages_blocks_unseen_and_commits_on_close(store: AzureStore, adlfs_fs: object) -> None:
    """adlfs ignores ``autocommit=False``: written blocks are staged (uncommitted, not listed, not readable)
    and ``close()`` commits them; ``discard()`` does nothing. So a failed upload must never be closed (nor
    left for the garbage collector, whose ``__del__`` closes it): marked closed, its blocks stay uncommitted."""
    fs: object = adlfs_fs
    container = store.container()
    handle = fs.open(f"{container}/big", "wb", autocommit=False, block_size=4 << 20)  # type: ignore[attr-defined]
    handle.write(BIG)
    client = store.service.get_blob_client(container, "big")
    committed, uncommitted = client.get_block_list("all")
    assert (len(committed), len(uncommitted) > 0) == (0, True)
    assert store.keys(container) == []
    handle.discard()
    assert store.keys(container) == []  # still staged only
    handle.close()
    assert store.keys(container) == ["big"]  # close committed it, autocommit=False notwithstanding
    assert store.get(container, "big") == BIG
    dropped = fs.open(f"{container}/dropped", "wb", block_size=4 << 20)  # type: ignore[attr-defined]
    dropped.write(BIG)
    dropped.closed = True  # how a discarded upload is left: fsspec's close() and __del__ then do nothing
    del dropped
    gc.collect()
    assert store.keys(container) == ["big"]


def test_azurite_refuses_an_exclusive_create_over_a_blob(store: AzureStore, adlfs_fs: object) -> None:
    """Mode ``xb`` sends ``If-None-Match: *`` with the block list: the second of two writers fails, the
    first one's blob stays (the conditional create ``--skip-existing`` can rely on)."""
    fs: object = adlfs_fs
    container = store.container()
    first = fs.open(f"{container}/out", "xb")  # type: ignore[attr-defined]
    second = fs.open(f"{container}/out", "xb")  # type: ignore[attr-defined]
    first.write(b"first\n")
    second.write(b"second\n")
    first.close()
    with pytest.raises(FileExistsError):
        second.close()
    assert store.get(container, "out") == b"first\n"


def test_adlfs_lists_a_prefix_with_sizes_and_a_missing_container_as_empty(store: AzureStore, adlfs_fs: object) -> None:
    fs: object = adlfs_fs
    container = store.container()
    for key in ("p/a/1.ndjson", "p/a/2.ndjson.gz", "p/b/3.ndjson", "pq.ndjson"):
        store.put(container, key, b"{}\n")
    found = fs.find(f"{container}/p", detail=True)  # type: ignore[attr-defined]
    assert {name: (info["type"], info["size"]) for name, info in found.items()} == {
        f"{container}/p/a/1.ndjson": ("file", 3), f"{container}/p/a/2.ndjson.gz": ("file", 3),
        f"{container}/p/b/3.ndjson": ("file", 3)}
    assert fs.find(f"missing-{uuid.uuid4().hex[:8]}/") == []  # type: ignore[attr-defined]  # no error: say so ourselves
    assert fs.cat_file(f"{container}/p/a/1.ndjson", start=1, end=2) == b"}"  # type: ignore[attr-defined]
    assert AZURE_ACCOUNT in store.server.endpoint


def test_conditional_create_lets_one_run_win(store: AzureStore) -> None:
    """With --skip-existing the block list is committed only if there is no blob (``If-None-Match: *``): a
    blob another run made meanwhile stays, and this run says so (exit 2)."""
    container = store.container()
    store.put(container, "raw/big.ndjson", BIG)
    # Into a prefix: each input's own output is created conditionally (a single -o FILE is replaced, as locally).
    argv = ["convert", store.url(container, "raw/"), "-o", store.url(container, "v2/"), "--skip-existing"]
    process = store.start(argv, "rename")  # every block staged, the blob not made
    assert "v2/big.ndjson" not in store.keys(container)
    store.put(container, "v2/big.ndjson", b"the other run's\n")
    process.send_signal(stores.signal.SIGCONT)
    code, err = stores.finish(process)
    assert (code, err) == (2, f"migrate1to2: error: cannot write {store.url(container, 'v2/big.ndjson')}: another "
                              "run wrote it while this one converted it (the store refused to replace it: conditional "
                              "create); nothing was written by this run. Rerun with --skip-existing to go on with the "
                              "rest\n")
    assert store.get(container, "v2/big.ndjson") == b"the other run's\n"
    done = store.run(*argv[:-1], "-q")  # without --skip-existing an output is replaced, as a local file is
    assert done.returncode == 0, done.stderr
    assert store.get(container, "v2/big.ndjson") == converted(BIG)


def test_refused_key_is_exit_2_and_never_printed(store: AzureStore, tmp_path: Path) -> None:
    container = store.container()
    store.put(container, "raw/a.ndjson", RECORDS)
    wrong = "d3JvbmcgYWNjb3VudCBrZXkgdGhhdCBpcyBub3QgdGhlIGVtdWxhdG9ycw=="
    env = {**store.env, "AZURE_STORAGE_CONNECTION_STRING": store.server.connection_string.replace(
        store.server.connection_string.split("AccountKey=")[1].split(";")[0], wrong)}
    done = stores.subprocess.run([*stores.CLI, "convert", store.url(container, "raw/a.ndjson"), "-o",
                                  tmp_path / "a.ndjson"], env=env, capture_output=True, timeout=120, check=False)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.startswith(f"migrate1to2: error: cannot read {store.url(container, 'raw/a.ndjson')}: the store refused "
                          "the credentials (AuthenticationFailed); "), err
    assert err.count("\n") == 1 and wrong not in err and wrong[:16] not in err
    assert not (tmp_path / "a.ndjson").exists()
