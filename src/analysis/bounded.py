"""Bounded decoding: the one capped reader of every decompression.

What a download, a PDF stream, a Word, Excel or REFI-QDA package inflates
to is counted as it inflates, never trusted from a header, and reading stops
past a cap: a few kilobytes that inflate to gigabytes (a gzip inside a gzip,
a doubly deflated PDF stream, a huge shared-strings part) cost at most the
cap. A payload over its cap raises :class:`TooLarge`, whose message says
what and how much.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterable

GZIP = 16 + zlib.MAX_WBITS
ZLIB = zlib.MAX_WBITS


class TooLarge(ValueError):
    """A payload that inflates past its cap."""


def inflate_stream(
    chunks: Iterable[bytes],
    cap: int,
    wbits: int | None = ZLIB,
    each: Callable[[], None] | None = None,
) -> bytes:
    """The bytes ``chunks`` inflate to (``wbits`` as zlib takes it; None:
    not compressed), at most ``cap`` of them; ``each`` is called before each
    chunk (a deadline's check). zlib.error for damaged data."""
    inflate = zlib.decompressobj(wbits) if wbits is not None else None
    out = bytearray()  # grows in place: no copy per chunk
    for chunk in chunks:
        if each is not None:
            each()
        if inflate is None:
            out += chunk
        else:
            out += inflate.decompress(chunk, cap + 1 - len(out))
            if inflate.unconsumed_tail:
                raise TooLarge(f"larger than {cap:,} bytes once inflated")
        if len(out) > cap:
            raise TooLarge(f"larger than {cap:,} bytes" + (" once inflated" if inflate else ""))
    if inflate is not None:
        out += inflate.flush(cap + 1 - len(out))
        if len(out) > cap:
            raise TooLarge(f"larger than {cap:,} bytes once inflated")
    return bytes(out)


def inflate(data: bytes, cap: int, wbits: int = ZLIB) -> bytes:
    """:func:`inflate_stream` of one buffer."""
    return inflate_stream([data], cap, wbits)


def zip_size(archive: zipfile.ZipFile, cap: int) -> int:
    """What ``archive``'s members inflate to, counted by inflating them a
    chunk at a time (the sizes its headers declare may lie) and stopping
    past ``cap``."""
    total = 0
    for info in archive.infolist():
        with archive.open(info) as member:
            while chunk := member.read(1 << 20):
                total += len(chunk)
                if total > cap:
                    return total
    return total
