"""A loopback OpenAI-compatible chat-completions server for tests (a pytest plugin module).

Fixture `openai_server` yields a `FakeOpenAIServer` listening on 127.0.0.1 (port 0):

- `server.base_url` is "http://127.0.0.1:PORT/v1"; point `LLMSettings(base_url=..., api_key="test")`
  at it. Only `POST /v1/chat/completions` (non-streaming) is implemented.
- By default every request gets a VALID object for the requested
  `response_format.json_schema.schema`, generated from the schema: strings name the field and the
  paper ("finding about 2602.05027"), fields named `paper_id` / `track_id` echo ids found in
  the prompt as `paper_id: X` / `track_id: X`, and an array of objects with a `paper_id` gets one
  item per paper id in the prompt. So end-to-end cycle tests with the LLM analyst work unscripted.
- `server.respond_with(fn)`: `fn(request_json)` returns a dict (sent as the JSON content), a str
  (sent as raw content), a dict with "choices" (the whole response body, as is), or None
  (default answer). `server.respond_with([a, b, ...])` answers the next requests with a, b, ...
  then falls back to the default. `server.respond_with(None)` restores the default.
- `server.fail_next(status=500, times=1)`: the next `times` requests get that HTTP status (with a
  `retry-after-ms: 1` header, so the SDK's retries do not sleep noticeably).
- `server.finish_reason_next("length", times=1)`: the next answers carry that finish_reason.
- `server.delay_next(seconds=10.0, times=1)`: the next requests wait on an Event for up to `seconds`
  before answering; `server.release()` lets them go at once (the fixture releases on teardown);
  `server.held` counts those still waiting, unanswered.
- `server.trickle_next(interval=0.05, times=1)`: the next answers send their headers at once, then
  the body one byte per `interval` (stopping when the client goes away or the fixture ends).
- `server.raw_next(body, content_type="text/html", times=1)`: the next answers are HTTP 200 with
  this exact body (a proxy's error page, broken JSON) instead of a chat completion.
- `server.usage_next({"prompt_tokens": -1, ...}, times=1)`: the next answers carry this `usage`.
- `server.omit_usage = True`: answers carry no `usage` (clients must estimate).
- Recorded: `server.requests` (request JSON bodies, in arrival order), `server.headers` (request
  headers, lower-case keys), `server.max_in_flight` (most requests handled at once),
  `server.rounds` (how many times a request arrived while none was in flight: sequential waves).
- Usage: prompt_tokens = characters of all message contents // 4, completion_tokens = len(content)
  // 4 (at least 1 each), so tests can predict token counts.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Responder = Callable[[dict[str, Any]], Any]

PAPER_ID_RE = re.compile(r"\bpaper_id:\s*([\w./-]*\w)")
TRACK_ID_RE = re.compile(r"\btrack_id:\s*([\w./-]*\w)")


def prompt_text(request: dict[str, Any]) -> str:
    """All message contents of a chat request, joined."""
    parts = []
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        parts.append(str(content or ""))
    return "\n".join(parts)


def unique(values: list[str]) -> list[str]:
    """Values in first-seen order without duplicates."""
    return list(dict.fromkeys(values))


class SchemaFaker:
    """Builds a valid instance of a JSON schema, echoing ids found in the prompt."""

    def __init__(self, schema: dict[str, Any], prompt: str):
        self.defs = schema.get("$defs", {})
        self.paper_ids = unique(PAPER_ID_RE.findall(prompt)) or ["unknown-paper"]
        self.track_ids = unique(TRACK_ID_RE.findall(prompt)) or ["unknown-track"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if ref:
            return self.resolve(self.defs[ref.rsplit("/", 1)[-1]])
        if "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"]
            return self.resolve(options[0] if options else schema["anyOf"][0])
        return schema

    def make(self, schema: dict[str, Any], name: str = "", paper: str = "", track: str = "") -> Any:
        schema = self.resolve(schema)
        kind = schema.get("type")
        if "enum" in schema:
            return schema["enum"][0]
        if kind == "object":
            return self.make_object(schema, paper, track)
        if kind == "array":
            return self.make_array(schema["items"], name, paper)
        if kind in ("integer", "number"):
            low, high = schema.get("minimum", 0), schema.get("maximum", 10)
            return min(max(7, low), high)
        if kind == "boolean":
            return True
        if name == "paper_id":
            return paper or self.paper_ids[0]
        if name == "track_id":
            return track or self.track_ids[0]
        return f"{name.replace('_', ' ') or 'text'} about {paper or self.paper_ids[0]}"

    def make_object(self, schema: dict[str, Any], paper: str, track: str) -> dict[str, Any]:
        props = schema.get("properties", {})
        return {key: self.make(sub, key, paper, track) for key, sub in props.items()}

    def make_array(self, items: dict[str, Any], name: str, paper: str) -> list[Any]:
        items = self.resolve(items)
        props = items.get("properties", {})
        if "paper_id" in props:
            return [self.make(items, name, paper=p) for p in self.paper_ids]
        if "track_id" in props:
            return [self.make(items, name, paper, track=t) for t in self.track_ids[:2]]
        return [self.make(items, f"{name.rstrip('s')} {i}", paper) for i in (1, 2, 3)]


def default_content(request: dict[str, Any]) -> Any:
    """A valid object for the requested JSON schema, or a short text when none was requested."""
    fmt = request.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema")
    if not schema:
        return "ok"
    return SchemaFaker(schema, prompt_text(request)).make(schema)


class FakeOpenAIServer:
    """The scriptable state behind the `openai_server` fixture (see the module docstring)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.max_in_flight = 0
        self.rounds = 0
        self.omit_usage = False
        self._trickles: list[float] = []
        self._raw: list[tuple[bytes, str]] = []
        self._usages: list[dict[str, Any]] = []
        self._in_flight = 0
        self._lock = threading.Lock()
        self._responder: Responder | None = None
        self._scripted: list[Any] = []
        self._failures: list[int] = []
        self._finish_reasons: list[str] = []
        self._delays: list[float] = []
        self._release = threading.Event()
        self._held = 0  # delayed requests still waiting for release() (or their delay)
        self.closing = threading.Event()  # set at teardown: trickles stop
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def respond_with(self, fn: Responder | list[Any] | None) -> None:
        """Answer with `fn(request_json)`, or with each item of a list in turn."""
        with self._lock:
            if isinstance(fn, list):
                self._responder, self._scripted = None, list(fn)
            else:
                self._responder, self._scripted = fn, []

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    def finish_reason_next(self, reason: str = "length", times: int = 1) -> None:
        with self._lock:
            self._finish_reasons.extend([reason] * times)

    def delay_next(self, seconds: float = 10.0, times: int = 1) -> None:
        with self._lock:
            self._release.clear()
            self._delays.extend([seconds] * times)

    def trickle_next(self, interval: float = 0.05, times: int = 1) -> None:
        with self._lock:
            self._trickles.extend([interval] * times)

    def raw_next(self, body: str | bytes, content_type: str = "text/html", times: int = 1) -> None:
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._raw.extend([(data, content_type)] * times)

    def usage_next(self, usage: dict[str, Any], times: int = 1) -> None:
        with self._lock:
            self._usages.extend([usage] * times)

    def next_transport(self) -> tuple[float, tuple[bytes, str] | None]:
        """How the handler sends its next answer: (trickle interval or 0, raw body or None)."""
        with self._lock:
            trickle = self._trickles.pop(0) if self._trickles else 0.0
            raw = self._raw.pop(0) if self._raw else None
        return trickle, raw

    @property
    def held(self) -> int:
        """How many delayed requests are waiting right now, unanswered."""
        with self._lock:
            return self._held

    def release(self) -> None:
        """Let every delayed request answer now."""
        self._release.set()

    def handle(self, request: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        """Status and JSON body for one chat-completions request."""
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)
            if self._in_flight == 0:
                self.rounds += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            status = self._failures.pop(0) if self._failures else 200
            delay = self._delays.pop(0) if self._delays else 0.0
        try:
            if delay:
                with self._lock:
                    self._held += 1
                try:
                    self._release.wait(delay)
                finally:
                    with self._lock:
                        self._held -= 1
            if status != 200:
                return status, {"error": {"message": f"fake failure {status}", "type": "server"}}
            return 200, self.answer(request)
        except Exception as exc:  # a broken test responder: answer 500 so the test sees it
            return 500, {"error": {"message": f"fake responder failed: {exc!r}", "type": "test"}}
        finally:
            with self._lock:
                self._in_flight -= 1

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The response body: scripted, from the responder, or generated from the schema."""
        with self._lock:
            scripted = self._scripted.pop(0) if self._scripted else None
            responder = self._responder
            finish = self._finish_reasons.pop(0) if self._finish_reasons else "stop"
        reply = scripted if scripted is not None else responder(request) if responder else None
        if reply is None:
            reply = default_content(request)
        if isinstance(reply, dict) and "choices" in reply:
            return reply
        content = reply if isinstance(reply, str) else json.dumps(reply)
        return self.completion(request, content, finish)

    def completion(self, request: dict[str, Any], content: str, finish: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": 1767225600,
            "model": request.get("model", "fake-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
        }
        with self._lock:
            usage = self._usages.pop(0) if self._usages else None
        if usage is not None:
            body["usage"] = usage
        elif not self.omit_usage:
            prompt = max(1, len(prompt_text(request)) // 4)
            completion = max(1, len(content) // 4)
            body["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        return body


def make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one fake server's state."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self.send_json(404, {"error": {"message": f"no route {self.path}"}})
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = server.handle(json.loads(raw or b"{}"), headers)
            trickle, canned = server.next_transport()
            if canned is not None and status == 200:
                self.send_body(200, canned[0], canned[1], 0.0)
            else:
                self.send_body(status, json.dumps(body).encode(), "application/json", trickle)

        def send_body(self, status: int, data: bytes, content_type: str, trickle: float) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            if status != 200:
                self.send_header("retry-after-ms", "1")
            self.end_headers()
            try:
                if not trickle:
                    self.wfile.write(data)
                    return
                self.wfile.flush()
                for i in range(len(data)):
                    if server.closing.wait(trickle):  # the fixture is ending
                        return
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
            except OSError:
                pass  # the client gave up (as it should on a trickle)

        def send_json(self, status: int, body: Any) -> None:
            self.send_body(status, json.dumps(body).encode(), "application/json", 0.0)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A running fake OpenAI-compatible server on 127.0.0.1 (see the module docstring)."""
    server = FakeOpenAIServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(server))
    httpd.daemon_threads = True
    server.httpd = httpd
    # A short poll interval keeps teardown quick (shutdown waits for the next poll).
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.release()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
