"""API authentication: a bearer token (phones, scripts) or the browser's session (pages)."""

from __future__ import annotations

from ninja.security import APIKeyCookie, HttpBearer

from zhangzhi.org.actions import user_for_token


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class Session(APIKeyCookie):
    """Django's session cookie; unsafe methods are CSRF-checked by ninja."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        if request.user.is_authenticated:
            return request.user
        return None


AUTH = [BearerToken(), Session()]
