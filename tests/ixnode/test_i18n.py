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
