from collections.abc import Callable

def convert_chunk(chunk: bytes, to_v2: bool, /) -> tuple[bytes, int, int] | None: ...
def retain_freed_memory(nbytes: int, /) -> bool: ...
def element_end(buffer: bytes, position: int, /) -> int: ...
def convert_mixed(
    chunk: bytes, to_v2: bool, limit: int, callback: Callable[[int, int, int, int, int], bytes | None] | None = None, /
) -> tuple[bytes, int, int, int, list[tuple[int, int, int, int, int, int]]]: ...
def convert_text(text: bytes, to_v2: bool, /) -> bytes | None: ...
def convert_offsets(
    data: object,
    offsets: object,
    wide: bool,
    first: int,
    length: int,
    validity: object | None,
    to_v2: bool,
    limit: int,
    callback: Callable[[int, int, int], tuple[int, bytes | None]],
    /,
) -> tuple[bytes, bytes, bytes, bytes]: ...
def census(
    chunk: bytes, limit: int, most: int, /
) -> tuple[list[tuple[str, str, tuple[()]] | None], list[tuple[int, int, int, int, int]], bytes]: ...
