"""The API's JSON parser: DRF's, with a nesting depth limit.

Python's ``json`` module recurses once per nesting level, so a body nested a few thousand levels deep raises
``RecursionError`` (an HTML 500). This parser measures the depth first, on the raw text, and answers a 400 that
names the limit (``IXNODE_API_JSON_MAX_DEPTH``, ``settings.IXNODE_API_JSON_MAX_DEPTH``) before anything recurses.
The body's size is limited before it is read (``ixnode.guards.RequestBodyLimitMiddleware``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# A JSON string (its brackets are text, not nesting), and everything that is not a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_OPEN_CLOSE = str.maketrans("[{]}", "(())")


def json_nesting_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` nests arrays/objects deeper than ``limit`` levels.

    On the brackets alone (strings removed), as ``(`` and ``)``: ``limit + 1`` opening brackets in a row are too
    deep; otherwise a pass removes the innermost pairs (one level, ``str.replace``) and the run allowed shrinks by
    one. Linear in the body for each of at most ``limit`` passes. Malformed text (unbalanced or mismatched
    brackets) is not "too deep" unless it opens too many levels: the JSON parser reports it.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).translate(_OPEN_CLOSE)
    for removed in range(limit + 1):
        # ``removed`` innermost levels are gone: a run of the remaining allowance + 1 opening brackets is too deep.
        if "(" * (limit - removed + 1) in brackets:
            return True
        shorter = brackets.replace("()", "")
        if not shorter or shorter == brackets:
            return False
        brackets = shorter
    return False


def depth_error(limit: int) -> ParseError:
    return ParseError(
        _("The JSON body is nested more than %(limit)s levels deep (the limit, IXNODE_API_JSON_MAX_DEPTH).")
        % {"limit": limit}
    )


class JSONParser(parsers.JSONParser):
    """``application/json`` with the depth limit; otherwise DRF's parser (strict: no NaN or Infinity)."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]  # DRF ≥ 3.17; stubs lag
        limit: int = settings.IXNODE_API_JSON_MAX_DEPTH
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(_("The JSON body is not valid %(encoding)s text: %(error)s")
                             % {"encoding": encoding, "error": exc}) from exc
        if json_nesting_exceeds(text, limit):
            raise depth_error(limit)
        try:
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError as exc:  # unbalanced opening brackets, deeper than the interpreter recurses
            raise depth_error(limit) from exc
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc
