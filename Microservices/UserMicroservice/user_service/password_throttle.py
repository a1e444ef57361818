"""Throttling password changes per user: a stolen token must not become a way to guess the password."""

from dataclasses import dataclass

from limits import RateLimitItem

from monty_common.attempts import (
    AttemptCounter,
    AttemptLimit,
    CountedAttempt,
    counted_or_refused,
    parse_limit,
)
from monty_common.problems import ProblemError
from user_service.settings import UserSettings


@dataclass(frozen=True)
class PasswordChangeThrottle:
    """Counts each change of a user's own password before the current password is checked; a
    success gives its count back, so only wrong current passwords use the limit up."""

    counter: AttemptCounter
    limit: RateLimitItem
    retry_after: int

    @classmethod
    def from_settings(cls, settings: UserSettings) -> "PasswordChangeThrottle":
        """MONTY_PASSWORD_CHANGE_LIMIT per user, counted in MONTY_RATE_LIMIT_STORAGE."""
        return cls(
            AttemptCounter(settings.rate_limit_storage),
            parse_limit(settings.password_change_limit),
            settings.retry_after,
        )

    def count(self, user_id: str) -> CountedAttempt:
        """Count an attempt of the user's, or refuse it (429) when their limit is used up."""
        refused = ProblemError(
            429,
            "too-many-attempts",
            "Too Many Requests",
            "Too many wrong current passwords; wait before trying again.",
        )
        limit = AttemptLimit(self.limit, f"password-change|{user_id}")
        return counted_or_refused(
            lambda: self.counter.count([limit]), refused, "Password changes", self.retry_after
        )

    def give_back(self, attempt: CountedAttempt) -> None:
        """Uncount an attempt whose current password was right."""
        self.counter.give_back(attempt)
