"""The lab speaks the product's languages: its messages are in the product's catalogue (locale/), in the
language of LANGUAGE_CODE (the setting the product's pages default to), English otherwise."""

from __future__ import annotations

import gettext
import os

from lab.config import ROOT

_language = (os.environ.get("LANGUAGE_CODE") or "en").strip().lower().split("-")[0] or "en"
_catalogue = gettext.translation("django", localedir=str(ROOT / "locale"), languages=[_language], fallback=True)


def _(message: str) -> str:
    return _catalogue.gettext(message)
