"""Structured chat calls to an OpenAI-compatible endpoint: schema, repair, usage, budget.

The only module that imports `openai`. It speaks one request shape that OpenAI, Ollama, vLLM,
llama.cpp server and LM Studio all accept: chat completions with a strict `json_schema`
response format.
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
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import openai
from pydantic import BaseModel, ValidationError

from agent.analyst import UsageSink
from agent.analyst.budget import TokenBudget, estimate_tokens
from agent.errors import AnalystError, BudgetExceeded
from agent.models import LLMCall
from agent.settings import LLMSettings

logger = logging.getLogger(__name__)

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)\n?\s*```", re.DOTALL)

ModelT = TypeVar("ModelT", bound=BaseModel)
Message = dict[str, str]
Check = Callable[[Any], None]  # raises ValueError when a parsed reply is unusable


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
    ):
        self.settings = settings
        self.model = settings.model
        self.base_url = settings.base_url or OPENAI_DEFAULT_URL
        self.shown_url = shown_url(self.base_url)  # errors reach logs and notes
        self.budget = budget
        self.clock = clock
        self._usage_sink = usage_sink
        self._sink_lock = threading.Lock()  # the sink is called from worker threads
        self._client = openai.OpenAI(
            base_url=self.base_url,
            # Local servers (Ollama, llama.cpp) need no key, but the SDK insists on one.
            api_key=settings.api_key or "not-needed",
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
        )

    def close(self) -> None:
        """Close the HTTP connections (the client is unusable afterwards)."""
        self._client.close()

    def ask(
        self,
        purpose: str,
        messages: list[Message],
        model: type[ModelT],
        max_tokens: int,
        check: Check | None = None,
    ) -> ModelT:
        """One structured answer; one repair round on invalid output, then AnalystError."""
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
            return self.repair(purpose, messages, completion.content, exc, model, max_tokens, check)
        self.report(purpose, completion, "ok")
        return parsed

    def repair(
        self,
        purpose: str,
        messages: list[Message],
        bad_reply: str,
        error: Exception,
        model: type[ModelT],
        max_tokens: int,
        check: Check | None,
    ) -> ModelT:
        """Send the validation error back once and ask for corrected JSON only."""
        retry = [
            *messages,
            {"role": "assistant", "content": bad_reply},
            {
                "role": "user",
                "content": "Your reply was not valid for the required JSON schema: "
                f"{describe_error(error)}. Reply again with the corrected JSON object only, "
                "no prose and no code fences.",
            },
        ]
        completion = self.complete("repair", retry, model, max_tokens)
        try:
            parsed = parse_reply(completion.content, model, check)
        except ValueError as exc:
            self.report("repair", completion, "invalid")
            raise AnalystError(
                f"The LLM at {self.shown_url} ({self.model}) answered invalid output for "
                f"{purpose} twice ({describe_error(exc)[:200]}). Try a stronger model or a server "
                "that supports structured outputs."
            ) from None
        self.report("repair", completion, "ok")
        return parsed

    def complete(
        self, purpose: str, messages: list[Message], model: type[BaseModel], max_tokens: int
    ) -> Completion:
        """One chat completion within the budget; raises AnalystError on any failure."""
        reserved = self.check_budget(purpose, messages, max_tokens)
        started, start = datetime.now(UTC), self.clock()
        try:
            response = self._client.chat.completions.create(
                **request_body(self.model, messages, model, max_tokens)
            )
        except openai.OpenAIError as exc:
            if self.budget is not None:
                self.budget.settle(reserved, 0)
            self.fail(purpose, messages, started, self.clock() - start, exc)
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
        """Our Completion from the SDK's response; a cut-off answer is a failure."""
        choice = response.choices[0] if response.choices else None
        content = (choice.message.content or "") if choice else ""
        usage = response.usage
        completion = Completion(
            content=content,
            finish_reason=(choice.finish_reason if choice else None) or "",
            tokens_in=usage.prompt_tokens if usage else estimate_tokens(prompt_of(messages)),
            tokens_out=usage.completion_tokens if usage else estimate_tokens(content),
            duration_s=duration,
            started=started,
            reserved=reserved,
        )
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
        exc: openai.OpenAIError,
    ) -> NoReturn:
        """Record a failed call and raise AnalystError naming the endpoint (never the key)."""
        timed_out = isinstance(exc, openai.APITimeoutError)
        tokens_in = estimate_tokens(prompt_of(messages))
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
        if timed_out:
            detail = f"timed out after {self.settings.timeout_seconds:g}s"
        elif isinstance(exc, openai.APIStatusError):
            detail = f"answered HTTP {exc.status_code}"
        else:
            detail = f"could not be reached ({type(exc).__name__})"
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
