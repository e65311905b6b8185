"""A guard that stops LLM calls before they would exceed the cycle's or the day's token budget."""

from __future__ import annotations

import threading

from agent.errors import BudgetExceeded

CHARS_PER_TOKEN = 4  # a rough, model-independent rule; good enough to stop runaway spending


def estimate_tokens(text: str) -> int:
    """Tokens in a text, estimated at about four characters per token."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


class TokenBudget:
    """Tokens left this cycle and today; `reserve` before a call, `settle` after it.

    Thread-safe, because summaries run concurrently. A call in flight holds its worst-case
    estimate, so calls started together cannot jointly overshoot a limit each check alone.
    """

    def __init__(self, cycle_limit: int, daily_limit: int, spent_today: int = 0):
        self.cycle_limit = cycle_limit
        self.daily_limit = daily_limit
        self.spent_today = spent_today
        self.spent_cycle = 0
        self.reserved = 0  # worst-case tokens of the calls in flight
        self._lock = threading.Lock()

    def estimate(self, prompt_text: str, max_output: int) -> int:
        """Worst-case tokens of one call: the prompt plus all the output it may produce."""
        return estimate_tokens(prompt_text) + max_output

    def check(self, estimate: int) -> None:
        """Raise BudgetExceeded if a call of `estimate` tokens would exceed either limit."""
        with self._lock:
            self._check(estimate)

    def reserve(self, estimate: int) -> None:
        """`check`, then hold `estimate` tokens until the call is settled."""
        with self._lock:
            self._check(estimate)
            self.reserved += estimate

    def settle(self, reserved: int, tokens: int) -> None:
        """Release a call's reservation and count the tokens it actually spent (0 if it failed)."""
        with self._lock:
            self.reserved -= reserved
            self.spent_cycle += tokens
            self.spent_today += tokens

    def _check(self, estimate: int) -> None:
        """Raise BudgetExceeded unless spent + reserved + estimate fits both limits (lock held)."""
        pending = self.reserved + estimate
        if self.spent_cycle + pending > self.cycle_limit:
            raise BudgetExceeded(
                f"The next LLM call (~{estimate} tokens) would exceed the cycle budget "
                f"({self.spent_cycle} of {self.cycle_limit} tokens spent). Raise "
                "[llm] cycle_token_budget in research.toml to allow more."
            )
        if self.spent_today + pending > self.daily_limit:
            raise BudgetExceeded(
                f"The next LLM call (~{estimate} tokens) would exceed the daily budget "
                f"({self.spent_today} of {self.daily_limit} tokens spent today). Raise "
                "[llm] daily_token_budget in research.toml or wait until tomorrow."
            )

    def charge(self, tokens: int) -> None:
        """Count tokens actually spent against both limits."""
        self.settle(0, tokens)

    @property
    def remaining(self) -> int:
        """Tokens left before either limit is reached."""
        with self._lock:
            left_cycle = self.cycle_limit - self.spent_cycle
            return max(0, min(left_cycle, self.daily_limit - self.spent_today))
