"""Language choice: Simplified Chinese unless the user picked another language.

Django's LocaleMiddleware follows the browser's Accept-Language, so a government PC with an
English browser would get English pages. Zhangzhi is Chinese first: only an explicit choice (the
language cookie set by the switcher) changes it.
"""

from django.conf import settings
from django.utils import translation


class ChineseFirstLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.allowed = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or settings.LANGUAGE_CODE
        if lang not in self.allowed:
            lang = settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", lang)
        return response
