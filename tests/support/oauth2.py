"""A local OAuth 2.0 token endpoint for the client credentials grant (RFC 6749 section 4.4),
and a target that accepts only the tokens it issued."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, unquote_plus

from tests.support.http import Endpoint, QuietHandler, Reply, Response, address_of, local_server

Style = Literal["header", "params", "either"]


@dataclass
class TokenEndpoint:
    """A running endpoint. ``style``: where it takes the client's credentials; ``reply``, when
    set, answers instead (a hostile endpoint)."""

    server: ThreadingHTTPServer
    client_id: str
    client_secret: str
    style: Style = "either"
    expires_in: int | None = 3600
    reply: Callable[[], Reply] | None = None
    issued: list[str] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    """Each request's form fields and headers (``header:<name>``)."""

    @property
    def url(self) -> str:
        return f"http://{address_of(self.server)}/oauth2/token"

    def answer(self, headers: dict[str, str], body: bytes) -> Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.requests.append({**form, **{f"header:{k}": v for k, v in headers.items()}})
        if self.reply is not None:
            return self.reply()
        if form.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type")
        if not self._client(headers.get("authorization", ""), form):
            return _error(401, "invalid_client")
        token = f"tok-{len(self.issued)}-{secrets.token_hex(8)}"
        self.issued.append(token)
        answer: dict[str, object] = {"access_token": token, "token_type": "bearer"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return Reply(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    def _client(self, authorization: str, form: dict[str, str]) -> bool:
        wanted = (self.client_id, self.client_secret)
        if authorization.startswith("Basic ") and self.style in ("header", "either"):
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            return (unquote_plus(user), unquote_plus(password)) == wanted
        if self.style in ("params", "either"):
            return (form.get("client_id"), form.get("client_secret")) == wanted
        return False


def _error(status: int, code: str) -> Reply:
    return Reply(status, json.dumps({"error": code}).encode(), {"Content-Type": "application/json"})


@contextmanager
def token_endpoint(client_id: str, client_secret: str) -> Iterator[TokenEndpoint]:
    ref: list[TokenEndpoint] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = ref[0].answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.answer(reply.status, reply.body, reply.headers)

    with local_server(Handler) as server:
        ref.append(TokenEndpoint(server, client_id, client_secret))
        yield ref[0]


def bearer_only(tokens: TokenEndpoint, target: Endpoint, body: bytes) -> Callable[[str], Response]:
    """``target``'s answer: ``body`` to a request bearing the token ``tokens`` issued last, else
    401 quoting the Authorization header it got, as a careless server would."""

    def respond(_path: str) -> Response:
        sent = target.requests[-1].get("Authorization", "")
        if tokens.issued and sent == f"Bearer {tokens.issued[-1]}":
            return Response(body)
        return Response(f"unauthorized: you sent Authorization: {sent}".encode(), "text/plain", 401)

    return respond
