"""The base of the product's management commands: they speak ``LANGUAGE_CODE`` (docs/i18n.md).

A command is work without a request, so it uses the operator's ``LANGUAGE_CODE`` — its output lines, its
``CommandError`` texts and its ``--help`` — whatever language a caller (a test, a page's worker thread) has
active. Machine-readable output (``--json``, CSV) stays English-keyed; the commands keep it so.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation
from django.utils.translation import gettext


class OperatorCommand(BaseCommand):
    """A command whose words are in ``LANGUAGE_CODE``: mark them with ``gettext`` (``gettext_noop`` for ``help``,
    translated when the parser is made)."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        with translation.override(settings.LANGUAGE_CODE):
            self.help = gettext(self.help) if self.help else self.help
            return super().create_parser(prog_name, subcommand, **kwargs)

    def execute(self, *args: Any, **options: Any) -> Any:
        with translation.override(settings.LANGUAGE_CODE):
            return super().execute(*args, **options)
