"""A small static HTTP/1.1 server for benchmarks when nginx is not installed.

Keep-alive, ETag and Last-Modified with 304 answers, files read into memory
when the server starts and again on SIGHUP (after the benchmark mutates them).
A POST (a page of the Workday-style board's list) is answered with the file at its
path, its body read and ignored, without validators and never 304, as nginx does
with ``error_page 405 =200 $uri`` and ``etag off`` there (see ``bench.daemon``).
Files without a suffix (Workday job details) are JSON.
Run: ``python -m bench.static_server ROOT PORT``.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sys
from email.utils import formatdate
from pathlib import Path

TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".json": b"application/json",
    "": b"application/json",
}


class Files:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.table: dict[bytes, tuple[bytes, bytes, memoryview, bytes]] = {}
        """path: (the answer to a GET, the head of the answer to a POST, the body, the ETag)."""
        self.load()

    def load(self) -> None:
        table = {}
        for path in self.root.rglob("*"):
            if path.is_file():
                body = path.read_bytes()
                etag = b'"' + hashlib.md5(body, usedforsecurity=False).hexdigest().encode() + b'"'
                modified = formatdate(path.stat().st_mtime, usegmt=True).encode()
                head = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: "
                    + TYPES.get(path.suffix, b"application/octet-stream")
                    + b"\r\nContent-Length: "
                    + str(len(body)).encode()
                )
                validators = b"\r\nETag: " + etag + b"\r\nLast-Modified: " + modified
                response = head + validators + b"\r\n\r\n" + body
                table[b"/" + str(path.relative_to(self.root)).encode()] = (
                    response,
                    head + b"\r\n\r\n",
                    memoryview(response)[len(response) - len(body) :],  # not a copy
                    etag,
                )
        self.table = table


async def serve(files: Files, port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *headers = head.split(b"\r\n")
                method, path = line.split(b" ")[:2]
                length = next(
                    (
                        h.split(b":", 1)[1]
                        for h in headers
                        if h.lower().startswith(b"content-length:")
                    ),
                    b"0",
                )
                if int(length):
                    await reader.readexactly(int(length))  # a POST's body: read, not used
                entry = files.table.get(path)
                if entry is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                response, post_head, body, etag = entry
                if method == b"POST":
                    writer.write(post_head)
                    writer.write(body)
                elif any(h.lower().startswith(b"if-none-match:") and etag in h for h in headers):
                    writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n")
                else:
                    writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, files.load)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(Files(Path(sys.argv[1])), int(sys.argv[2])))
