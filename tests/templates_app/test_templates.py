"""templates_app against vcsim: services, selectors, the page, the admin and the API."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from ixnode.integrations.vcenter.client import VCenterTaskFailed, vcenter_client
from templates_app.models import Template
from templates_app.selectors import vcenter_vms_list
from templates_app.services import template_create_from_vm, templates_sync

pytest_plugins = ["tests.fixtures.vcsim"]

SOURCE_VM = "DC0_H0_VM1"
GOLDEN = "ubuntu-22.04-golden"


@pytest.fixture
def vc(vcenter_settings, vcsim_control):
    """Django settings on the session vcsim; names handed out are destroyed in vCenter afterwards."""
    created: list[str] = []

    def name(prefix: str = "tpl") -> str:
        value = f"{prefix}-{uuid.uuid4().hex[:10]}"
        created.append(value)
        return value

    vcsim_control.new_name = name
    yield vcsim_control
    client = vcenter_client()
    for value in created:
        client.vm_destroy(value)


def make_user(*codenames: str, username: str = "operator") -> User:
    user = User.objects.create_user(username=username, password="pw-for-tests-only")
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="templates_app"))
    return user


@pytest.fixture
def unreachable_vcenter(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.IXNODE_VCENTER_HOST = "127.0.0.1"
    settings.IXNODE_VCENTER_PORT = port
    settings.IXNODE_VCENTER_USER = "nobody"
    settings.IXNODE_VCENTER_PASSWORD = "nothing"
    settings.IXNODE_VCENTER_THUMBPRINT = "AA" * 20
    settings.IXNODE_VCENTER_TIMEOUT = 2


# --- services and selectors ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_template_from_running_vm(vc):
    name = vc.new_name()
    row = template_create_from_vm(source_vm_name=SOURCE_VM, name=name, description="web base", tags=["web"])
    assert row.pk and row.vcenter_path == f"/DC0/vm/{name}" and row.datastore == "LocalDS_0"
    assert row.source_vm_name == SOURCE_VM and row.tags == ["web"]
    client = vcenter_client()
    assert client.vm_get(name).is_template
    assert client.vm_get(SOURCE_VM).powered_on  # the source keeps running


@pytest.mark.django_db
def test_create_template_rejects_bad_input_before_touching_vcenter(vc):
    Template.objects.create(name="taken")
    with pytest.raises(ValidationError) as info:
        template_create_from_vm(source_vm_name=SOURCE_VM, name="taken")
    assert "name" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        template_create_from_vm(source_vm_name="no-such-vm", name=vc.new_name())
    assert "no VM named 'no-such-vm'" in info.value.message_dict["source_vm_name"][0]
    with pytest.raises(ValidationError) as info:
        template_create_from_vm(source_vm_name=GOLDEN, name=vc.new_name())
    assert "already a template" in info.value.message_dict["source_vm_name"][0]
    with pytest.raises(ValidationError) as info:
        template_create_from_vm(source_vm_name=SOURCE_VM, name="DC0_H0_VM0")
    assert "already has" in info.value.message_dict["name"][0]
    with pytest.raises(ValidationError):
        template_create_from_vm(source_vm_name=SOURCE_VM, name="bad/name")
    assert Template.objects.count() == 1


@pytest.mark.django_db
def test_vcenter_fault_leaves_no_row(vc):
    name = vc.new_name("fail")
    vc.control(faults=[{"op": "clone", "match": "^fail-", "fault": "NoDiskSpace", "message": "datastore full"}])
    with pytest.raises(VCenterTaskFailed, match="not enough capacity"):
        template_create_from_vm(source_vm_name=SOURCE_VM, name=name)
    assert not Template.objects.filter(name=name).exists()
    assert vcenter_client().vm_find(name) is None


@pytest.mark.django_db(transaction=True)
def test_row_conflict_after_clone_removes_the_vcenter_template_again(vc):
    name = vc.new_name("race")
    vc.control(clone_delay_ms=400)

    def competitor() -> None:
        time.sleep(0.15)  # while the clone task runs
        Template.objects.create(name=name, description="created concurrently")

    thread = threading.Thread(target=competitor)
    thread.start()
    try:
        with pytest.raises(ValidationError, match="removed again"):
            template_create_from_vm(source_vm_name=SOURCE_VM, name=name)
    finally:
        thread.join()
    assert vcenter_client().vm_find(name) is None
    assert Template.objects.get(name=name).description == "created concurrently"


@pytest.mark.django_db
def test_sync_imports_updates_and_reports_missing(vc):
    Template.objects.create(name=GOLDEN, vcenter_path="/old/path")
    Template.objects.create(name="retired-template")
    name = vc.new_name()
    vcenter_client().vm_clone_to_template(source=SOURCE_VM, name=name)

    result = templates_sync()
    assert name in result.created
    assert GOLDEN in result.updated
    assert result.missing_in_vcenter == ["retired-template"]
    assert Template.objects.get(name=GOLDEN).vcenter_path == f"/DC0/vm/{GOLDEN}"
    assert Template.objects.get(name=name).datastore == "LocalDS_0"
    again = templates_sync()
    assert again.created == [] and again.updated == [] and name in again.unchanged
    assert "0 created" in again.summary()


@pytest.mark.django_db
def test_vcenter_vms_list_selector(vc):
    vms = vcenter_vms_list(templates=False)
    assert "DC0_H0_VM0" in {vm.name for vm in vms}
    assert all(not vm.is_template for vm in vms)
    assert GOLDEN in {vm.name for vm in vcenter_vms_list(templates=True)}


# --- page --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_page_needs_login_and_permission(client, vc):
    url = reverse("templates_app:inventory")
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(make_user())
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_page_lists_vms_and_templates(client, vc):
    client.force_login(make_user("view_template"))
    Template.objects.create(name=GOLDEN, vcenter_path=f"/DC0/vm/{GOLDEN}")
    response = client.get(reverse("templates_app:inventory"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "DC0_H0_VM0" in html and "/DC0/vm/DC0_H0_VM0" in html and "poweredOn" in html
    assert GOLDEN in html
    assert 'id="create-template"' not in html  # no add permission, no form


@pytest.mark.django_db
def test_page_creates_a_template_from_a_vm(client, vc):
    client.force_login(make_user("view_template", "add_template", "change_template"))
    name = vc.new_name()
    url = reverse("templates_app:inventory")
    response = client.post(url, {"source_vm_name": SOURCE_VM, "name": name, "tags": "web, base"}, follow=True)
    assert response.status_code == 200
    assert f"Template &#x27;{name}&#x27; created" in response.content.decode()
    row = Template.objects.get(name=name)
    assert row.tags == ["web", "base"] and row.source_vm_name == SOURCE_VM
    assert vcenter_client().vm_get(name).is_template

    bad = client.post(url, {"source_vm_name": "not-a-vm", "name": vc.new_name()})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()

    synced = client.post(reverse("templates_app:sync"), follow=True)
    assert "Templates synced from vCenter" in synced.content.decode()
    assert Template.objects.filter(name=GOLDEN).exists()


@pytest.mark.django_db
def test_page_post_without_add_permission_creates_nothing(client, vc):
    client.force_login(make_user("view_template"))
    name = vc.new_name()
    response = client.post(reverse("templates_app:inventory"), {"source_vm_name": SOURCE_VM, "name": name})
    assert response.status_code == 302
    assert not Template.objects.filter(name=name).exists()
    assert client.post(reverse("templates_app:sync")).status_code == 403


@pytest.mark.django_db
def test_page_shows_vcenter_errors_instead_of_failing(client, unreachable_vcenter):
    client.force_login(make_user("view_template", "add_template", "change_template"))
    response = client.get(reverse("templates_app:inventory"))
    assert response.status_code == 200
    assert "refused the connection" in response.content.decode()
    response = client.post(reverse("templates_app:sync"), follow=True)
    assert "Sync failed" in response.content.decode()


# --- admin -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_create_from_vm_and_sync(client, vc):
    admin = User.objects.create_superuser("admin", "admin@example.invalid", "pw-for-tests-only")
    client.force_login(admin)
    changelist = client.get(reverse("admin:templates_app_template_changelist"))
    assert "Sync from vCenter" in changelist.content.decode()
    url = reverse("admin:templates_app_template_create_from_vm")
    page = client.get(url)
    assert page.status_code == 200 and "DC0_H0_VM1" in page.content.decode()
    name = vc.new_name()
    response = client.post(url, {"source_vm_name": SOURCE_VM, "name": name})
    assert response.status_code == 302
    assert Template.objects.filter(name=name, vcenter_path=f"/DC0/vm/{name}").exists()
    invalid = client.post(url, {"source_vm_name": SOURCE_VM, "name": ""})
    assert invalid.status_code == 400
    response = client.post(reverse("admin:templates_app_template_sync"), follow=True)
    assert "Synced from vCenter" in response.content.decode()
    action = client.post(
        reverse("admin:templates_app_template_changelist"),
        {"action": "sync_from_vcenter", "_selected_action": [Template.objects.get(name=name).pk]},
        follow=True,
    )
    assert "Synced from vCenter" in action.content.decode()


# --- API ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_vms_templates_from_vm_and_sync(vc):
    api = APIClient()
    assert api.get("/api/vcenter/vms/").status_code in (401, 403)
    api.force_authenticate(make_user("view_template", "add_template", "change_template"))
    vms = api.get("/api/vcenter/vms/?templates=false").json()
    assert "DC0_H0_VM0" in {vm["name"] for vm in vms}
    assert all(not vm["is_template"] for vm in vms)

    name = vc.new_name()
    created = api.post("/api/templates/from-vm/", {"source_vm_name": SOURCE_VM, "name": name}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["vcenterPath"] == f"/DC0/vm/{name}"  # the template metadata shape
    bad = api.post("/api/templates/from-vm/", {"source_vm_name": "nope", "name": vc.new_name()}, format="json")
    assert bad.status_code == 400 and "source_vm_name" in bad.json()
    missing = api.post("/api/templates/from-vm/", {"name": "x"}, format="json")
    assert missing.status_code == 400 and "source_vm_name" in missing.json()

    synced = api.post("/api/templates/sync/")
    assert synced.status_code == 200 and GOLDEN in synced.json()["created"]
    listed = api.get("/api/templates/").json()
    assert {name, GOLDEN} <= {row["name"] for row in listed["results"]}


@pytest.mark.django_db
def test_api_reports_unreachable_vcenter_as_503(unreachable_vcenter):
    api = APIClient()
    api.force_authenticate(make_user("view_template", "add_template", "change_template"))
    response = api.get("/api/vcenter/vms/")
    assert response.status_code == 503
    assert "IXNODE_VCENTER_HOST" in response.json()["detail"]


@pytest.mark.django_db
def test_api_refuses_renames_and_deleting_a_template_in_use(config):
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("root2", "r@example.invalid", "pw-for-tests-only"))
    template = config.template
    renamed = api.patch(f"/api/templates/{template.pk}/", {"name": "other"}, format="json")
    assert renamed.status_code == 400 and "rename the template in vCenter" in renamed.json()["name"][0]
    described = api.patch(f"/api/templates/{template.pk}/", {"description": "golden"}, format="json")
    assert described.status_code == 200 and described.json()["description"] == "golden"
    deleted = api.delete(f"/api/templates/{template.pk}/")
    assert deleted.status_code == 409 and "auto-vm-test" in deleted.json()["detail"]
    assert Template.objects.filter(pk=template.pk).exists()


# --- the page's vocabulary: in vCenter checked against vCenter, one error, buttons off without vCenter ------------


@pytest.mark.django_db
def test_in_vcenter_is_checked_against_vcenter(client, vc):
    client.force_login(make_user("view_template"))
    Template.objects.create(name=GOLDEN, vcenter_path=f"/DC0/vm/{GOLDEN}")  # vcsim has it (session setup)
    Template.objects.create(name="typed-by-hand", vcenter_path="/DC0/vm/typed-by-hand")  # a path, but no template
    response = client.get(reverse("templates_app:inventory"))
    rows = {row.template.name: row.in_vcenter for row in response.context["rows"]}
    assert rows == {GOLDEN: True, "typed-by-hand": False}
    html = response.content.decode()
    assert 'data-in-vcenter="no"' in html and 'data-in-vcenter="yes"' in html


@pytest.mark.django_db
def test_without_vcenter_in_vcenter_is_unknown_and_said_once(client, unreachable_vcenter):
    client.force_login(make_user("view_template", "add_template", "change_template"))
    Template.objects.create(name="typed-by-hand", vcenter_path="/DC0/vm/typed-by-hand")
    response = client.get(reverse("templates_app:inventory"))
    assert [row.in_vcenter for row in response.context["rows"]] == [None]
    html = response.content.decode()
    assert html.count("is not reachable (connection refused)") == 1
    assert 'id="sync-templates" disabled' in html and "<fieldset disabled>" in html
    # A POST anyway (the button is disabled, curl is not): the page says it once and creates nothing.
    posted = client.post(reverse("templates_app:inventory"), {"source_vm_name": SOURCE_VM, "name": "x-tpl"})
    assert posted.status_code == 503
    assert posted.content.decode().count("is not reachable (connection refused)") == 1
    assert not Template.objects.filter(name="x-tpl").exists()


@pytest.mark.django_db
def test_without_vcenter_settings_the_page_says_what_to_set(client, settings):
    settings.IXNODE_VCENTER_HOST = ""
    client.force_login(make_user("view_template", "add_template", "change_template"))
    html = client.get(reverse("templates_app:inventory")).content.decode()
    assert "vCenter is not set up." in html and "<code>IXNODE_VCENTER_HOST</code>" in html


@pytest.mark.django_db
def test_admin_tags_are_comma_separated(client):
    admin = User.objects.create_superuser("admin", "admin@example.invalid", "pw-for-tests-only")
    client.force_login(admin)
    template = Template.objects.create(name="tagged", tags=["linux", "golden"])
    change = reverse("admin:templates_app_template_change", args=[template.pk])
    form = client.get(change).content.decode()
    assert 'value="linux, golden"' in form and "Comma-separated." in form
    listing = client.get(reverse("admin:templates_app_template_changelist")).content.decode()
    assert "linux, golden" in listing and '["linux"' not in listing
    response = client.post(change, {"name": "tagged", "tags": " web,  base , ", "description": ""})
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.tags == ["web", "base"]
