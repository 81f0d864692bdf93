"""Content codings undone by hand, within the body limit.

httpx undoes every coding a server names in ``Content-Encoding``, each chunk with
no bound on what it expands to: a 2 KB body that is gzip of gzip of zeros becomes
gigabytes before a limit on the decoded size is ever checked. Here the raw bytes
go through at most ``MAX_LAYERS`` zlib decoders, each asked for at most ``STEP``
bytes at a time, and what every stage of the chain has produced is counted as it
grows: memory stays within the limit plus a few steps whatever a body claims to
expand to. Codings we did not ask for (``Accept-Encoding: gzip, deflate``) are
refused rather than read as if they were the page.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from monitor.errors import BodyTooLarge, TransportError

MAX_LAYERS = 2
"""Content codings one body may stack; a real server applies one."""

STEP = 64 * 1024
"""The most one decoder hands on at a time."""

_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
_NOTHING = frozenset({"", "identity"})


def content_codings(values: Iterable[str], *, url: str) -> list[str]:
    """The codings named by ``Content-Encoding`` header values, in the order they
    were applied; refused when unknown or stacked more than ``MAX_LAYERS`` deep."""
    codings = [c.strip().lower() for value in values for c in value.split(",")]
    codings = [c for c in codings if c not in _NOTHING]
    unknown = [c for c in codings if c not in _WBITS]
    if unknown:
        raise TransportError(f"refused: content encoding {unknown[0]!r} was not asked for", url=url)
    if len(codings) > MAX_LAYERS:
        raise TransportError(
            f"refused: {len(codings)} stacked content encodings (at most {MAX_LAYERS})", url=url
        )
    return codings


class BodyDecoder:
    """Raw body bytes in, decoded body out, each stage's output counted against
    ``limit`` as it is produced."""

    def __init__(self, codings: list[str], *, url: str, limit: int) -> None:
        self._url, self._limit = url, limit
        self._layers = [_Layer(coding, url) for coding in reversed(codings)]
        self._sizes = [0] * (len(self._layers) + 1)
        self._chunks: list[bytes] = []

    def feed(self, raw: bytes) -> None:
        for piece in self._through(0, [raw]):
            self._chunks.append(piece)

    def finish(self) -> bytes:
        for depth, layer in enumerate(self._layers):
            for piece in self._through(depth + 1, layer.flush()):
                self._chunks.append(piece)
        return b"".join(self._chunks)

    def _through(self, depth: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """``pieces`` entering stage ``depth`` (0: the raw body), decoded by the
        rest of the chain, each stage's total checked as it grows."""
        for piece in pieces:
            self._count(depth, len(piece))
            if depth == len(self._layers):
                yield piece
            else:
                yield from self._through(depth + 1, self._layers[depth].feed(piece))

    def _count(self, depth: int, size: int) -> None:
        self._sizes[depth] += size
        if self._sizes[depth] > self._limit:
            raise BodyTooLarge(url=self._url, limit=self._limit)


class _Layer:
    """One zlib decoder that never hands on more than ``STEP`` bytes at a time.
    A deflate body is the zlib format or, from some servers, raw deflate (as httpx
    allows); what follows the end of a stream is dropped."""

    def __init__(self, coding: str, url: str) -> None:
        self._coding, self._url = coding, url
        self._inflate = zlib.decompressobj(_WBITS[coding])
        self._may_be_raw = coding == "deflate"

    def feed(self, data: bytes) -> Iterator[bytes]:
        while not self._inflate.eof:
            out = self._decompress(data)
            data = self._inflate.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < STEP:
                return

    def flush(self) -> list[bytes]:
        return [] if self._inflate.eof else [self._inflate.flush()]

    def _decompress(self, data: bytes) -> bytes:
        try:
            out = self._inflate.decompress(data, STEP)
        except zlib.error as exc:
            if not self._may_be_raw:
                raise TransportError(
                    f"the body is not valid {self._coding}: {exc}", url=self._url
                ) from exc
            self._may_be_raw = False
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._decompress(data)
        if data:
            self._may_be_raw = False
        return out


__all__ = ["MAX_LAYERS", "STEP", "BodyDecoder", "content_codings"]
