"""API authentication: a bearer token (phones, scripts) or the browser's session (pages)."""

from __future__ import annotations

from ninja.security import APIKeyCookie, HttpBearer

from zhangzhi.org.actions import token_for


class BearerToken(HttpBearer):
    """A live (unexpired, unrevoked) token of an active account. The token's id is kept on the request,
    so GET /auth/tokens can mark the one in use."""

    def authenticate(self, request, token: str):
        row = token_for(token)
        if row is None:
            return None
        request.user = row.user
        request.api_token_id = row.pk
        return row.user


class Session(APIKeyCookie):
    """Django's session cookie; unsafe methods are CSRF-checked by ninja."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        if request.user.is_authenticated:
            return request.user
        return None


AUTH = [BearerToken(), Session()]
