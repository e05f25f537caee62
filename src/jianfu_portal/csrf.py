"""CSRF tokens for every POST, ``/login`` included.

After login the token is the session's own (kept server-side, see :mod:`.sessions`): every form
carries it in the hidden input ``csrf_token`` and scripts send it in the ``X-CSRF-Token`` header.
Before login there is no session, so ``/login`` uses a *signed double submit*: the login page sets a
short-lived cookie holding the token signed with the portal's key and puts the same token in the
form; the POST must bring both, and they must agree. A page on another site can neither read the
cookie nor forge its signature, and SameSite=Strict keeps the browser from sending it along anyway.
"""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import BadSignature, TimestampSigner

__all__ = ["FIELD", "HEADER", "tokens_match", "LoginTokens"]

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; False when either is missing.

    Examples
    --------
    >>> tokens_match("abc", "abc"), tokens_match("abc", "abd"), tokens_match("abc", None)
    (True, False, False)
    """
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class LoginTokens:
    """The pre-login token pair: (cookie value, form token); valid for ``max_age`` seconds.

    Examples
    --------
    >>> tokens = LoginTokens(b"k" * 32)
    >>> cookie, token = tokens.issue()
    >>> tokens.check(cookie, token), tokens.check(cookie, token + "x"), tokens.check("forged." + token, token)
    (True, False, False)
    """

    def __init__(self, key: bytes, max_age: int = 2 * 3600):
        self._signer = TimestampSigner(key, salt="jianfu-portal-login-csrf")
        self.max_age = max_age

    def issue(self) -> tuple[str, str]:
        """A new (cookie value, form token) pair."""
        token = secrets.token_urlsafe(32)
        return self._signer.sign(token).decode(), token

    def token_of(self, cookie: str | None) -> str | None:
        """The token a valid cookie carries (reused, so two open login tabs both work), else None."""
        if not cookie:
            return None
        try:
            return self._signer.unsign(cookie, max_age=self.max_age).decode()
        except BadSignature:
            return None

    def check(self, cookie: str | None, token: str | None) -> bool:
        """Whether the form's token is the one the (valid, unexpired) cookie carries."""
        return tokens_match(self.token_of(cookie), token)
