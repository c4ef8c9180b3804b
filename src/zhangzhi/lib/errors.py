"""Errors that actions raise and the API and command line turn into one clear message.

The API renders every one of them as {"error": {"code", "message", "fields"}}; `fields` maps a
field path ("features[3].properties.kind") to what was wrong with it.
"""

from __future__ import annotations


class ZhangzhiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class InvalidInput(ZhangzhiError):
    """The input is well-formed but wrong: the fields say where."""

    status = 422
    code = "invalid"


class NotFound(ZhangzhiError):
    status = 404
    code = "not_found"


class Conflict(ZhangzhiError):
    """The action does not fit the object's current state."""

    status = 409
    code = "conflict"


class Forbidden(ZhangzhiError):
    status = 403
    code = "forbidden"


class TooLarge(ZhangzhiError):
    """An upload over the size limit; refused before anything is stored."""

    status = 413
    code = "too_large"


class RateLimited(ZhangzhiError):
    status = 429
    code = "rate_limited"
