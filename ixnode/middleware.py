"""Which language a page is shown in (docs/i18n.md).

1. The reader's own choice: the language menu in the top bar (Django's ``set_language`` view) sets the
   ``django_language`` cookie, and that choice wins everywhere (pages, admin, API error messages).
2. The operator's choice: ``LANGUAGE_CODE`` when set in the environment or ``.env`` — a ``ko`` team gets Korean
   pages whatever their browsers send.
3. The browser's ``Accept-Language``, when the operator left ``LANGUAGE_CODE`` unset (or set
   ``IXNODE_LANGUAGE_FROM_BROWSER=1`` explicitly).
4. ``LANGUAGE_CODE`` (``en`` by default).

Django's own ``LocaleMiddleware`` puts the browser before the setting (3 before 2), which is not what an operator
who sets ``LANGUAGE_CODE=ko`` expects; this middleware only changes that order.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def request_language(request: HttpRequest) -> str:
    """The language of ``request`` by the product's precedence (module docstring)."""
    chosen = _supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if chosen:
        return chosen
    if not settings.IXNODE_LANGUAGE_FROM_BROWSER:
        return _supported(settings.LANGUAGE_CODE) or settings.LANGUAGE_CODE
    return translation.get_language_from_request(request)  # Accept-Language, else LANGUAGE_CODE


class LanguageMiddleware(LocaleMiddleware):
    """``LocaleMiddleware`` with the product's order of precedence (no language prefixes in URLs)."""

    def process_request(self, request: HttpRequest) -> None:
        translation.activate(request_language(request))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response = super().process_response(request, response)
        translation.deactivate()  # the thread's next work (another request, a task) starts from LANGUAGE_CODE
        return response
