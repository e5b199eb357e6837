"""The Jenkins stage callback (``POST /api/runs/<id>/steps/``) refuses a stage that cannot run with a 400 before it
writes anything: the run is not started, no stage row is created, the build URL is not recorded."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token

from events.choices import EventStatus, ScaleAction
from events.models import ScaleEvent, ScaleEventStage

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot_auth(db) -> dict[str, str]:
    user = User.objects.create_user("jenkins-bot")
    user.user_permissions.add(Permission.objects.get(codename="change_scaleevent"))
    return {"HTTP_AUTHORIZATION": f"Bearer {Token.objects.create(user=user).key}"}


@pytest.fixture
def queued(config) -> ScaleEvent:
    return ScaleEvent.objects.create(config=config, service_name=config.service_name, action=ScaleAction.SCALE_OUT,
                                     decision="ALLOW", status=EventStatus.QUEUED)


@pytest.mark.parametrize(("stage", "fragment"), [("clone-vm", "cannot run before"), ("nope", "Unknown stage"),
                                                 ("clone", "cannot run before")])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_refused_stage_writes_nothing(client, bot_auth, queued, stage, fragment, lang):
    response = client.post(f"/api/runs/{queued.pk}/steps/", {"stage": stage, "build_url": "http://jenkins.invalid/1/"},
                           content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang, **bot_auth)
    assert response.status_code == 400, response.content
    message = response.json()["stage"][0]
    if lang == "en":
        assert fragment in message, message
    else:
        assert message.isascii() is False, message  # the Korean message
    queued.refresh_from_db()
    assert (queued.status, queued.jenkins_build_url, queued.started_at) == (EventStatus.QUEUED, "", None)
    assert not ScaleEventStage.objects.filter(event=queued).exists()
