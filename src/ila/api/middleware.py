"""Pure ASGI middleware of the API: a request id on every exchange, and a request-body limit
that answers 413 before reading more than the limit."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ila.api.problems import problem_response

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdMiddleware:
    """Take the client's ``X-Request-ID`` when it is a plain token of at most 128 characters,
    else generate one; keep it in ``request.state.request_id`` and echo it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _ACCEPTABLE_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """Refuse request bodies above ``limit`` bytes with 413: at once on a larger
    ``Content-Length``; for a chunked body, as soon as the bytes read pass the limit (the
    route's body parser lets :class:`BodyTooLarge` through to the problem handlers)."""

    def __init__(
        self, app: ASGIApp, limit: int, uploads: dict[tuple[str, str], int] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        # routes that stream a file to disk (POST /batches) get their own, larger limit:
        # (method, path suffix) → bytes
        self.uploads = uploads or {}

    def _limit_for(self, scope: Scope) -> int:
        path = str(scope.get("path", "")).rstrip("/")
        for (method, suffix), limit in self.uploads.items():
            if scope.get("method") == method and path.endswith(suffix):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            request_id = str(scope.get("state", {}).get("request_id", "-"))
            response = problem_response(
                413,
                "payload_too_large",
                f"the request body is larger than {limit} bytes",
                request_id,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
