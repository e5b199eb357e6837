"""Korean and English UI through Django's i18n; dates in the operator's time zone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_korean_translation_is_compiled_and_used(operator_client, config):
    response = operator_client.get(reverse("events:list"), HTTP_ACCEPT_LANGUAGE="ko")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ko">' in body
    for label in ("개요", "이벤트", "스케일 이벤트", "CSV 내보내기", "필터", "스케일아웃"):
        assert label in body, label
    english = operator_client.get(reverse("events:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Export CSV" in english and "CSV 내보내기" not in english


def test_language_switcher_sets_the_language(operator_client, config):
    response = operator_client.post(reverse("set_language"), {"language": "ko", "next": reverse("events:list")})
    assert response.status_code == 302 and response["Location"] == reverse("events:list")
    assert "스케일 이벤트" in operator_client.get(reverse("events:list")).content.decode()


def test_dates_in_the_operator_time_zone(operator_client, settings, config, make_event):
    from events.models import ScaleEvent

    settings.TIME_ZONE = "Asia/Seoul"
    event = make_event(config)
    ScaleEvent.objects.filter(pk=event.pk).update(created_at=dt.datetime(2026, 3, 1, 15, 30, tzinfo=dt.UTC))
    body = operator_client.get(reverse("events:detail", args=[event.pk])).content.decode()
    assert "2026-03-02 00:30:00 KST" in body
    assert "Asia/Seoul" in body


# --- which language a page is shown in (ixnode.middleware, docs/i18n.md) ----------------------------------------

def _lang(client, **headers) -> str:
    body = client.get(reverse("events:list"), **headers).content.decode()
    return body.split('<html lang="', 1)[1].split('"', 1)[0]


def test_the_operators_language_code_wins_over_the_browser(operator_client, settings, config):
    settings.LANGUAGE_CODE = "ko"
    settings.IXNODE_LANGUAGE_FROM_BROWSER = False  # LANGUAGE_CODE set in the environment or .env
    assert _lang(operator_client, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9") == "ko"
    assert "스케일 이벤트" in operator_client.get(reverse("events:list"), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    # The reader's own choice (the language menu's cookie) wins over both.
    operator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert _lang(operator_client, HTTP_ACCEPT_LANGUAGE="ko") == "en"
    operator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx-not-a-language"
    assert _lang(operator_client, HTTP_ACCEPT_LANGUAGE="en-US") == "ko"


def test_without_a_language_code_the_browser_chooses(operator_client, settings, config):
    settings.LANGUAGE_CODE = "en"
    settings.IXNODE_LANGUAGE_FROM_BROWSER = True  # LANGUAGE_CODE left unset
    assert _lang(operator_client, HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9") == "ko"
    assert _lang(operator_client, HTTP_ACCEPT_LANGUAGE="fr-FR") == "en"  # not offered: LANGUAGE_CODE
    operator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert _lang(operator_client, HTTP_ACCEPT_LANGUAGE="ko") == "en"


def test_a_request_leaves_no_language_behind(operator_client, settings, config):
    from django.utils import translation

    settings.IXNODE_LANGUAGE_FROM_BROWSER = True
    operator_client.get(reverse("events:list"), HTTP_ACCEPT_LANGUAGE="ko")
    assert translation.get_language() == settings.LANGUAGE_CODE  # the thread's next work starts from the setting


def test_language_code_in_the_environment_means_the_operator_chose(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import json, django; django.setup(); from django.conf import settings as s; "
            "print(json.dumps([s.LANGUAGE_CODE, s.IXNODE_LANGUAGE_FROM_BROWSER]))")
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "ixnode.settings",
            "IXNODE_VAR_DIR": str(tmp_path), "IXNODE_ENV_FILE": ""}
    root = Path(__file__).resolve().parents[2]

    def read(**env):
        out = subprocess.run([sys.executable, "-c", code], cwd=root, env={**base, **env}, capture_output=True,
                             text=True, timeout=60, check=True)
        return json.loads(out.stdout)

    assert read() == ["en", True]
    assert read(LANGUAGE_CODE="ko") == ["ko", False]
    assert read(LANGUAGE_CODE="ko", IXNODE_LANGUAGE_FROM_BROWSER="1") == ["ko", True]


def test_translation_functions_are_imported_under_names_makemessages_reads():
    """makemessages (xgettext) finds strings only under ``_`` and Django's own names (gettext, gettext_noop,
    gettext_lazy, …): a string marked with another alias (``gettext_noop as N_``) is dropped from the catalogue at
    the next ``makemessages`` (docs/i18n.md), and its Korean with it."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    alias = re.compile(r"^\s*from django\.utils\.translation import .*\b(?:n|p|np)?gettext(?:_lazy|_noop)?\s+as\s+"
                       r"(?!_\b)(\w+)", re.MULTILINE)
    found = []
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if parts[0] in (".venv", "node_modules", "var", "tests") or parts[0].startswith("."):
            continue
        for name in alias.findall(path.read_text(encoding="utf-8", errors="replace")):
            found.append(f"{path.relative_to(root)}: as {name}")
    assert not found, found
