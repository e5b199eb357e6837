"""The run-step API (``POST /api/runs/<id>/steps/``, the generated Jenkins jobs' stage callback): every 400 and
404 in the request's language, as the API's other errors (docs/i18n.md). No system is asked: each answer here comes
before a stage runs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token

from events.choices import EventStatus

pytest_plugins = ["tests.fixtures.pages"]
pytestmark = pytest.mark.django_db
STAGES = "allocate_ip, clone, power_on, network, health, f5_add, target_add, complete"


@pytest.fixture
def bot_auth() -> dict[str, str]:
    user = User.objects.create_user("jenkins-bot")
    user.user_permissions.add(Permission.objects.get(codename="change_scaleevent"))
    return {"HTTP_AUTHORIZATION": f"Bearer {Token.objects.create(user=user).key}"}


@pytest.fixture
def queued(config, make_event):
    return make_event(config, status=EventStatus.QUEUED, after_count=None, vm_names=[])


def post(client, event_id: int, body: dict, auth: dict[str, str], language: str):
    return client.post(f"/api/runs/{event_id}/steps/", body, content_type="application/json",
                       HTTP_ACCEPT_LANGUAGE=language, **auth)


@pytest.mark.parametrize(("language", "unknown", "early", "required", "url", "missing", "credentials"), [
    ("en", "Unknown stage 'nope' for a scale-out run; stages are: " + STAGES + ".",
     "Step 'clone' cannot run before allocate_ip succeeded.", "This field is required.", "Enter a valid URL.",
     "Scale event {} does not exist.", "Authentication credentials were not provided."),
    ("ko", "scale-out 실행에 'nope' 단계가 없습니다. 단계: " + STAGES + ".",
     "'clone' 단계는 allocate_ip이(가) 성공하기 전에는 실행할 수 없습니다.", "이 필드는 필수 항목입니다.",
     "유효한 URL을 입력하세요.", "스케일 이벤트 {}이(가) 없습니다.", "자격 인증 데이터가 제공되지 않았습니다."),
], ids=["en", "ko"])
def test_every_refusal_speaks_the_request_language(client, queued, bot_auth, language, unknown, early, required,
                                                   url, missing, credentials):
    bad = post(client, queued.pk, {"stage": "nope"}, bot_auth, language)
    assert bad.status_code == 400 and bad.json() == {"stage": [unknown]}
    before = post(client, queued.pk, {"stage": "clone"}, bot_auth, language)
    assert before.status_code == 400 and before.json() == {"stage": [early]}
    body = post(client, queued.pk, {"build_url": "not a url"}, bot_auth, language)
    assert body.status_code == 400 and body.json() == {"stage": [required], "build_url": [url]}
    gone = post(client, queued.pk + 1000, {"stage": "allocate_ip"}, bot_auth, language)
    assert gone.status_code == 404 and gone.json() == {"detail": missing.format(queued.pk + 1000)}
    anonymous = post(client, queued.pk, {"stage": "allocate_ip"}, {}, language)
    assert anonymous.status_code == 401 and anonymous.json()["detail"] == credentials
