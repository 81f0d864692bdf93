"""What every request passes before routing: its ``Host`` must be one we answer to
(400 otherwise: DNS rebinding), its path and query at most ``web.max_url_bytes`` (414)
and its body at most ``web.max_request_bytes`` (413, refused unread when its length is
declared, and never echoed back).

A plain ASGI middleware, outside sign-in, so a refused request costs nothing."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.web.context import problem
from monitor.web.security import HostAllowList


class Front:
    def __init__(
        self, app: ASGIApp, *, hosts: HostAllowList, max_url_bytes: int, max_request_bytes: int
    ) -> None:
        self._app = app
        self._hosts = hosts
        self._max_url = max_url_bytes
        self._max_body = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        refused = self._refusal(scope)
        body = None if refused is not None else await self._read_body(receive)
        if body is None:
            await (refused or self._too_large())(scope, receive, send)
            return
        await self._app(scope, body, send)

    def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        if not self._hosts.allows(headers.get("host")):
            return PlainTextResponse("Invalid host header", status_code=400)
        if len(scope.get("raw_path", b"")) + len(scope["query_string"]) > self._max_url:
            return problem(414, "URI too long", f"Addresses of at most {self._max_url} bytes.")
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_body:
            return self._too_large()
        return None

    def _too_large(self) -> Response:
        response = problem(
            413, "Request too large", f"Request bodies of at most {self._max_body} bytes."
        )
        response.headers["Connection"] = "close"
        return response

    async def _read_body(self, receive: Receive) -> Receive | None:
        """The whole body, read here up to the limit, then handed on in one message;
        none when it grows past the limit (a body sent without its length)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return _replay([message], receive)
            size += len(message.get("body", b""))
            if size > self._max_body:
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        return _replay([{"type": "http.request", "body": b"".join(chunks)}], receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return messages.pop(0) if messages else await receive()

    return replayed
