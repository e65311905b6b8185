"""Structured chat calls to an OpenAI-compatible endpoint: schema, repair, usage, budget.

The only module that imports `openai`. It speaks one request shape that OpenAI, Ollama, vLLM,
llama.cpp server and LM Studio all accept: chat completions with a strict `json_schema`
response format.

Everything the endpoint sends is untrusted: a request ends by its deadline however slowly the
peer answers (`agent.net`), a body that is not a chat completion (a proxy's HTML error page) is a
failed call, and impossible token counts are refused rather than stored or charged.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx2
import openai
from pydantic import BaseModel, ValidationError

from agent.analyst import UsageSink
from agent.analyst.answers import checked_usage, read_answer
from agent.analyst.budget import TokenBudget, estimate_tokens
from agent.errors import AnalystError, BudgetExceeded
from agent.models import LLMCall
from agent.net import make_transport
from agent.settings import LLMSettings

logger = logging.getLogger(__name__)

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)\n?\s*```", re.DOTALL)

ModelT = TypeVar("ModelT", bound=BaseModel)
Message = dict[str, str]
Check = Callable[[Any], None]  # raises ValueError when a parsed reply is unusable
# Exceptions meaning the request never reached the server: nothing can have been spent.
NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.UnsupportedProtocol)


@dataclass(frozen=True)
class Question(Generic[ModelT]):
    """One structured question: what it is for, the messages, the answer's schema and size,
    and a `check` of the parsed answer. A repair asks it again with the invalid reply."""

    purpose: str
    messages: list[Message]
    model: type[ModelT]
    max_tokens: int
    check: Check | None = None


@dataclass
class Completion:
    """One answer of the endpoint, before it is parsed."""

    content: str
    finish_reason: str
    tokens_in: int
    tokens_out: int
    duration_s: float
    started: datetime
    reserved: int = 0  # budget tokens held for this call until it is reported


def shown_url(url: str) -> str:
    """The URL as errors show it: no user:password@, no ?query (keys hide in both)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema made acceptable to strict structured outputs.

    Strict mode wants every property required, no extra properties and no defaults.
    """
    schema = copy.deepcopy(model.model_json_schema())

    def tighten(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("default", None)
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            for value in node.values():
                tighten(value)
        elif isinstance(node, list):
            for value in node:
                tighten(value)

    tighten(schema)
    return schema


def extract_json(content: str) -> str:
    """The JSON text of a reply, unwrapping ```json fences some servers add."""
    text = content.strip()
    if text.startswith("{") or text.startswith("["):
        return text
    fenced = FENCE_RE.search(text)
    return fenced.group(1).strip() if fenced else text


def parse_reply(content: str, model: type[ModelT], check: Check | None) -> ModelT:
    """Validate a reply against the model; ValueError (incl. ValidationError) if unusable."""
    parsed = model.model_validate_json(extract_json(content))
    if check is not None:
        check(parsed)
    return parsed


def describe_error(exc: Exception) -> str:
    """A short description of a parse failure to send back to the model."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}"
            for err in exc.errors()[:8]
        )
    return str(exc)[:500]


class ChatClient:
    """Sends structured chat requests, repairs one invalid reply, reports every call."""

    def __init__(
        self,
        settings: LLMSettings,
        usage_sink: UsageSink,
        budget: TokenBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
        stop_at: float | None = None,
    ):
        self.settings = settings
        self.model = settings.model
        self.base_url = settings.base_url or OPENAI_DEFAULT_URL
        self.shown_url = shown_url(self.base_url)  # errors reach logs and notes
        self.budget = budget
        self.clock = clock
        self.stop_at = stop_at  # on `clock`'s scale: the cycle's deadline, if any
        self._usage_sink = usage_sink
        self._sink_lock = threading.Lock()  # the sink is called from worker threads
        # timeout_seconds bounds each request as a whole (a trickled answer included), and
        # never reaches past the cycle's own deadline.
        self._http = httpx2.Client(
            transport=make_transport(httpx2, self.request_deadline),
            timeout=httpx2.Timeout(settings.timeout_seconds),
        )
        self._client = openai.OpenAI(
            base_url=self.base_url,
            # Local servers (Ollama, llama.cpp) need no key, but the SDK insists on one.
            api_key=settings.api_key or "not-needed",
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
            http_client=self._http,
        )

    def request_deadline(self) -> float:
        """Seconds the next request may take: the timeout, or less when the cycle must end."""
        if self.stop_at is None:
            return self.settings.timeout_seconds
        return max(0.0, min(self.settings.timeout_seconds, self.stop_at - self.clock()))

    def close(self) -> None:
        """Close the HTTP connections (the client is unusable afterwards)."""
        self._client.close()
        self._http.close()

    def ask(
        self,
        purpose: str,
        messages: list[Message],
        model: type[ModelT],
        max_tokens: int,
        check: Check | None = None,
    ) -> ModelT:
        """One structured answer; one repair round on invalid output, then AnalystError."""
        question = Question(purpose, messages, model, max_tokens, check)
        completion = self.complete(purpose, messages, model, max_tokens)
        try:
            parsed = parse_reply(completion.content, model, check)
        except ValueError as exc:
            self.report(purpose, completion, "invalid")
            logger.info(
                "%s: invalid reply from %s (%s); asking once to repair",
                purpose,
                self.model,
                type(exc).__name__,
            )
            return self.repair(question, completion.content, exc)
        self.report(purpose, completion, "ok")
        return parsed

    def repair(self, question: Question[ModelT], bad_reply: str, error: Exception) -> ModelT:
        """Send the validation error back once and ask for corrected JSON only."""
        retry = [
            *question.messages,
            {"role": "assistant", "content": bad_reply},
            {
                "role": "user",
                "content": "Your reply was not valid for the required JSON schema: "
                f"{describe_error(error)}. Reply again with the corrected JSON object only, "
                "no prose and no code fences.",
            },
        ]
        completion = self.complete("repair", retry, question.model, question.max_tokens)
        try:
            parsed = parse_reply(completion.content, question.model, question.check)
        except ValueError as exc:
            self.report("repair", completion, "invalid")
            raise AnalystError(
                f"The LLM at {self.shown_url} ({self.model}) answered invalid output for "
                f"{question.purpose} twice ({describe_error(exc)[:200]}). Try a stronger model or "
                "a server that supports structured outputs."
            ) from None
        self.report("repair", completion, "ok")
        return parsed

    def complete(
        self, purpose: str, messages: list[Message], model: type[BaseModel], max_tokens: int
    ) -> Completion:
        """One chat completion within the budget; raises AnalystError on any failure."""
        if self.stop_at is not None and self.clock() >= self.stop_at:
            raise AnalystError(f"the cycle's deadline passed before {purpose}; no call was made")
        reserved = self.check_budget(purpose, messages, max_tokens)
        started, start = datetime.now(UTC), self.clock()
        try:
            response = self._client.chat.completions.create(
                **request_body(self.model, messages, model, max_tokens)
            )
        except openai.OpenAIError as exc:
            self.fail(purpose, messages, started, self.clock() - start, exc, reserved)
        except ValueError:  # a 200 whose JSON is broken (its text is data: not quoted)
            error = ValueError("a body that is not JSON")
            self.fail(purpose, messages, started, self.clock() - start, error, reserved)
        return self.completion_from(
            purpose, messages, response, started, self.clock() - start, reserved
        )

    def completion_from(
        self,
        purpose: str,
        messages: list[Message],
        response: Any,
        started: datetime,
        duration: float,
        reserved: int = 0,
    ) -> Completion:
        """Our Completion from the SDK's response; a cut-off or impossible answer is a failure."""
        try:
            content, finish_reason, usage = read_answer(response)
        except ValueError as exc:
            self.fail(purpose, messages, started, duration, exc, reserved)
        completion = Completion(
            content=content,
            finish_reason=finish_reason,
            tokens_in=estimate_tokens(prompt_of(messages)),
            tokens_out=estimate_tokens(content),
            duration_s=duration,
            started=started,
            reserved=reserved,
        )
        if usage is not None:
            try:
                completion.tokens_in, completion.tokens_out = checked_usage(usage)
            except ValueError as exc:
                # The server answered, so tokens were probably spent: charge the estimates,
                # never the impossible numbers, and do not use the answer.
                self.report(purpose, completion, "error")
                raise AnalystError(
                    f"The LLM at {self.shown_url} ({self.model}) reported impossible token usage "
                    f"for {purpose} ({exc}); the answer was not used. Check the server or proxy."
                ) from None
        if completion.finish_reason == "length":
            self.report(purpose, completion, "length")
            raise AnalystError(
                f"The LLM at {self.shown_url} ({self.model}) stopped at the output limit for "
                f"{purpose}; the answer was cut off. Use a model with a larger output window."
            )
        return completion

    def check_budget(self, purpose: str, messages: list[Message], max_tokens: int) -> int:
        """Reserve a call's worst case, or stop before it could exceed the budget (recorded)."""
        if self.budget is None:
            return 0
        estimate = self.budget.estimate(prompt_of(messages), max_tokens)
        try:
            self.budget.reserve(estimate)
        except BudgetExceeded:
            self.sink(LLMCall(purpose, self.model, 0, 0, 0.0, "budget", datetime.now(UTC)))
            raise
        return estimate

    def fail(
        self,
        purpose: str,
        messages: list[Message],
        started: datetime,
        duration: float,
        exc: Exception,
        reserved: int = 0,
    ) -> NoReturn:
        """Record a failed call and raise AnalystError naming the endpoint (never the key).

        Tokens are recorded (and charged) only where the model may have read the prompt: a
        timed-out request counts its prompt estimate; a request that never reached the server,
        an error status, or a body that is not a chat completion count zero.
        """
        timed_out = isinstance(exc, openai.APITimeoutError)
        tokens_in = estimate_tokens(prompt_of(messages)) if timed_out else 0
        if self.budget is not None:
            self.budget.settle(reserved, tokens_in)
        self.sink(
            LLMCall(
                purpose,
                self.model,
                tokens_in,
                0,
                duration,
                "timeout" if timed_out else "error",
                started,
            )
        )
        if timed_out and self.stop_at is not None and self.clock() >= self.stop_at:
            detail = "timed out: the cycle's deadline ([schedule] cycle_deadline) cut the call off"
        elif timed_out:
            detail = f"timed out after {self.settings.timeout_seconds:g}s"
        elif isinstance(exc, openai.APIStatusError):
            detail = f"answered HTTP {exc.status_code}"
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__
            detail = f"could not be reached ({type(cause or exc).__name__})"
        else:  # a 200 whose body is not a chat completion: a proxy's page, broken JSON
            detail = f"answered with {exc}"
        raise AnalystError(
            f"The LLM endpoint {self.shown_url} {detail} for {purpose} (model {self.model}, after "
            f"{self.settings.max_retries} retries). Check [llm] base_url/model in research.toml, "
            "OPENAI_BASE_URL and OPENAI_API_KEY."
        ) from None

    def report(self, purpose: str, completion: Completion, outcome: str) -> None:
        """Charge the budget (releasing the call's reservation) and record one finished call."""
        if self.budget is not None:
            self.budget.settle(completion.reserved, completion.tokens_in + completion.tokens_out)
            completion.reserved = 0
        self.sink(
            LLMCall(
                purpose,
                self.model,
                completion.tokens_in,
                completion.tokens_out,
                completion.duration_s,
                outcome,
                completion.started,
            )
        )

    def sink(self, call: LLMCall) -> None:
        logger.debug(
            "llm call %s %s: %s (%d in, %d out)",
            call.purpose,
            call.model,
            call.outcome,
            call.tokens_in,
            call.tokens_out,
        )
        with self._sink_lock:
            self._usage_sink(call)


def request_body(
    model_name: str, messages: list[Message], model: type[BaseModel], max_tokens: int
) -> dict[str, Any]:
    """Keyword arguments of one structured chat-completions request."""
    return {
        "model": model_name,
        "messages": messages,
        # max_tokens rather than max_completion_tokens: every compatible server knows it.
        "max_tokens": max_tokens,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": model.__name__, "schema": strict_schema(model), "strict": True},
        },
    }


def prompt_of(messages: list[Message]) -> str:
    """All message contents, for token estimates."""
    return "\n".join(str(m.get("content", "")) for m in messages)
