"""Google Cloud Storage (``gs://``), tested against gcp-storage-emulator on loopback (in this process; see
``tests/emulators.py``), one emulator for the module. The command line runs as a real subprocess with
``--storage-option endpoint_url=... --storage-option token=anon``; the store is checked with gcsfs's plain
HTTP client. The checks every store runs are in ``tests/stores.py``.

What the emulator cannot show: it ignores ``ifGenerationMatch=0`` (the conditional create gcsfs sends
for mode ``xb``), so the exclusive create is not tested on GCS here; and it does not implement the
DELETE that cancels a resumable upload (gcsfs's ``discard()`` retries it for about 34 s, then fails;
the object never appears either way).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests import stores
from tests.conftest import unavailable
from tests.emulators import GCS_ENV, GcsEmulator, Unavailable, gcs_emulator
from tests.stores import (
    BIG,
    check_audit_of_a_prefix_reads_as_local_files,
    check_kill_9_before_the_object_is_made,
    check_kill_9_mid_upload_leaves_no_object,
    check_missing_container_is_exit_2_naming_it,
    check_one_object_both_ways,
    check_tree_local_to_store_to_local_equals_local_conversion,
    check_tree_store_to_store_with_globs_and_jobs,
)

for _name, _value in GCS_ENV.items():  # before gcsfs is first imported by this process
    os.environ.setdefault(_name, _value)


class GcsStore(stores.Store):
    scheme = "gs"
    no_container = "the bucket does not exist; check the URL"

    def __init__(self, server: GcsEmulator) -> None:
        import gcsfs

        self.server = server
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("GOOGLE_", "GCLOUD_", "CLOUDSDK_", "STORAGE_EMULATOR"))}
        self.env.update(GCS_ENV)
        self.options = ("--storage-option", f"endpoint_url={server.endpoint}", "--storage-option", "token=anon")
        self.fs: Any = gcsfs.GCSFileSystem(endpoint_url=server.endpoint, token="anon", project="test",
                                           skip_instance_cache=True)

    def container(self) -> str:
        name = f"b-{uuid.uuid4().hex[:12]}"
        self.fs.mkdir(name)
        return name

    def put(self, container: str, key: str, data: bytes) -> None:
        self.fs.pipe_file(f"{container}/{key}", data)

    def get(self, container: str, key: str) -> bytes:
        self.fs.invalidate_cache()
        return bytes(self.fs.cat_file(f"{container}/{key}"))

    def keys(self, container: str) -> list[str]:
        self.fs.invalidate_cache()
        return sorted(name[len(container) + 1:] for name in self.fs.find(container))


@pytest.fixture(scope="module")
def store() -> Iterator[GcsStore]:
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(gcs_emulator())
        except Unavailable as error:
            unavailable(f"GCS emulator: {error}")
        yield GcsStore(server)


test_one_object_both_ways = check_one_object_both_ways
test_tree_local_to_store_to_local_equals_local_conversion = check_tree_local_to_store_to_local_equals_local_conversion
test_tree_store_to_store_with_globs_and_jobs = check_tree_store_to_store_with_globs_and_jobs
test_audit_of_a_prefix_reads_as_local_files = check_audit_of_a_prefix_reads_as_local_files
test_kill_9_mid_upload_leaves_no_object = check_kill_9_mid_upload_leaves_no_object
test_kill_9_before_the_object_is_made = check_kill_9_before_the_object_is_made
test_missing_container_is_exit_2_naming_it = check_missing_container_is_exit_2_naming_it


# --- what gcsfs and the emulator do (the I/O layer relies on it) -----------------------------------

def test_gcsfs_resumable_upload_appears_only_on_commit(store: GcsStore) -> None:
    """``autocommit=False``: the parts go up as a resumable upload, the object appears only on ``commit()``;
    a session never finished (a killed run) leaves nothing a reader sees."""
    bucket = store.container()
    handle = store.fs.open(f"{bucket}/big", "wb", autocommit=False, block_size=4 << 20)
    handle.write(BIG)
    assert store.keys(bucket) == []
    handle.close()
    assert store.keys(bucket) == []
    handle.commit()
    assert store.get(bucket, "big") == BIG
    never = store.fs.open(f"{bucket}/never", "wb", autocommit=False, block_size=4 << 20)
    never.write(BIG)
    never.close()  # neither committed nor discarded, as after kill -9
    assert store.keys(bucket) == ["big"]


def test_gcsfs_lists_a_prefix_and_reads_ranges(store: GcsStore) -> None:
    bucket = store.container()
    for key in ("p/a/1.ndjson", "p/a/2.ndjson.gz", "p/b/3.ndjson", "pq.ndjson"):
        store.put(bucket, key, b"{}\n")
    found = store.fs.find(f"{bucket}/p", detail=True)
    assert {name: (info["type"], int(info["size"])) for name, info in found.items()} == {
        f"{bucket}/p/a/1.ndjson": ("file", 3), f"{bucket}/p/a/2.ndjson.gz": ("file", 3),
        f"{bucket}/p/b/3.ndjson": ("file", 3)}
    assert store.fs.cat_file(f"{bucket}/p/a/1.ndjson", start=1, end=2) == b"}"
    with pytest.raises(FileNotFoundError):
        store.fs.find(f"missing-{uuid.uuid4().hex[:8]}/")
