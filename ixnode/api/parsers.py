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

# A JSON string (its brackets are text, not nesting), everything that is not a bracket, an innermost pair.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"\[\]|\{\}")


def json_nesting_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` nests arrays/objects deeper than ``limit`` levels.

    Each pass removes the innermost ``[]``/``{}`` pairs (one level) in C; after ``limit`` passes anything left is
    deeper than the limit. Malformed text (unbalanced brackets) is not "too deep": the parser reports it.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _level in range(limit):
        if not brackets:
            return False
        brackets, removed = _INNERMOST_PAIR.subn("", brackets)
        if not removed:
            return False
    return bool(brackets)


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
