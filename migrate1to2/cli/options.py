"""The options ``convert`` and ``downgrade`` share, each defined once (typer reads these annotations)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..storage.compression import Codec

Inputs = Annotated[list[str] | None, typer.Argument(
    metavar="INPUT...", show_default=False,
    help="Payload files (NDJSON, a JSON object or an array of objects; gzip, bzip2, xz or zstd compressed or "
         "not) or directories. '-' or none: stdin.")]
Output = Annotated[str, typer.Option(
    "-o", "--output", metavar="OUTPUT", show_default=False,
    help="Write the result to this file instead of stdout; or, for directories and several files, into this "
         "directory (mirroring trees). Files appear atomically.")]
Rejects = Annotated[str | None, typer.Option(
    "--rejects", metavar="FILE", show_default=False,
    help="Set records that cannot be converted aside in FILE (NDJSON, one line each) and go on. "
         "Without it the first such record stops the run.")]
Pretty = Annotated[bool, typer.Option("--pretty", help="Indent the output of a JSON object or array input.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Do not print the summary on stderr.")]
Jobs = Annotated[int | None, typer.Option(
    "-j", "--jobs", metavar="N", show_default="the number of CPUs",
    help="Convert with N workers (threads, or processes where the C accelerator is not compiled), across files "
         "and inside large files; the output is the same.")]
Include = Annotated[list[str] | None, typer.Option(
    "--include", metavar="GLOB", show_default=False,
    help="In directories, convert only files matching GLOB, or in a folder matching it (a name such as "
         "'*.ndjson.gz', or a path below the directory such as '2023/*'); repeatable.")]
Exclude = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="GLOB", show_default=False,
    help="In directories, leave out files and folders matching GLOB (a name such as 'tmp', or a path below the "
         "directory such as '2023/01/*'); repeatable.")]
SkipExisting = Annotated[bool, typer.Option(
    "--skip-existing", help="Skip inputs whose output file exists (outputs appear only when complete, so this "
                            "resumes an interrupted run).")]
InPlace = Annotated[bool, typer.Option(
    "--in-place", help="Replace each input file by its conversion, atomically. A file with nothing to convert "
                       "is left untouched.")]
Backup = Annotated[str | None, typer.Option(
    "--backup", metavar="SUFFIX", show_default=False,
    help="With --in-place, keep each replaced file under its name plus SUFFIX (e.g. .v1).")]
Compress = Annotated[Codec | None, typer.Option(
    "--compress", case_sensitive=False, show_default=False,
    help="Compress the output with this format (default: as the output file's name says; in directories, "
         "as each input was). File names get the matching suffix.")]
Stats = Annotated[str | None, typer.Option(
    "--stats", metavar="FILE", show_default=False,
    help="Write a JSON report to FILE: per input, records in, converted, unchanged, rejected, bytes and seconds.")]
PayloadPath = Annotated[str, typer.Option(
    "--payload-path", metavar="POINTER", show_default=False,
    help="The payload is inside each record at this JSON Pointer (e.g. /body), as an object or a JSON string; "
         "the rest of the record is left untouched.")]
Fsync = Annotated[bool, typer.Option(
    "--fsync/--no-fsync",
    help="Flush each output file (and the rejects and stats files) to disk before it appears under its name, so "
         "that it is complete even after a crash or power cut and --skip-existing can trust it. --no-fsync leaves "
         "the writing to the system: faster while outputs fit in memory, but after a crash rerun without "
         "--skip-existing.")]
MaxRecordBytes = Annotated[str, typer.Option(
    "--max-record-bytes", metavar="SIZE", show_default="16M",
    help="Reject a record larger than SIZE (bytes, or with K, M or G) instead of loading it.")]

StorageOption = Annotated[list[str] | None, typer.Option(
    "--storage-option", metavar="KEY=VALUE", show_default=False,
    help="For URLs (s3://, gs://, az://...): an option of the store's fsspec file system, such as "
         "endpoint_url=http://localhost:9000 or anon=true (a value that reads as JSON is taken as JSON); "
         "repeatable. Credentials come from each store's usual places (environment, profiles, roles).")]


def storage_options(pairs: list[str] | None) -> dict[str, object]:
    """``--storage-option KEY=VALUE`` pairs as a dict (values parsed as JSON where they parse)."""
    import json

    from ..storage.plan import UsageError

    options: dict[str, object] = {}
    for pair in pairs or ():
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"--storage-option takes KEY=VALUE (such as anon=true), not {pair.split('=')[0]!r}")
        try:
            options[key.strip()] = json.loads(value)
        except ValueError:
            options[key.strip()] = value
    return options
