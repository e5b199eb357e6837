"""Integration failures as sentences (ixnode.integrations.problems), from the real clients failing for real:
a closed port, a name that does not resolve, a server that never answers, TLS against a plain HTTP port, an F5
that refuses the password, a 500, settings left empty — in English and in Korean, the technical text kept."""

from __future__ import annotations

import socket
import threading

import pytest
from django.utils import translation

from ixnode.integrations.alertmanager.client import AlertmanagerClient
from ixnode.integrations.alertmanager.interface import AlertmanagerError
from ixnode.integrations.f5.client import f5_client
from ixnode.integrations.f5.interface import F5Error
from ixnode.integrations.jenkins.client import JenkinsClient
from ixnode.integrations.jenkins.interface import JenkinsError
from ixnode.integrations.problems import explain, explain_text, short_cause
from ixnode.integrations.prometheus.client import PrometheusClient
from ixnode.integrations.prometheus.interface import PrometheusError
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenterError
from tests.fixtures.prometheus import free_port

pytest_plugins = ["tests.fixtures.scripted_http", "tests.fixtures.f5"]


def failure(call):
    with pytest.raises(Exception) as info:  # noqa: PT011 - each client raises its own exception type
        call()
    return info.value


@pytest.fixture
def silent_server():
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_connection_refused_in_english_and_korean():
    url = f"http://127.0.0.1:{free_port()}"
    exc = failure(lambda: PrometheusClient(url, timeout=2).job_names())
    assert isinstance(exc, PrometheusError) and "NewConnectionError" in str(exc)
    problem = explain(exc)
    assert problem.kind == "refused" and problem.system == "prometheus"
    assert problem.summary == f"Prometheus at {url} is not reachable (connection refused)."
    assert problem.detail == str(exc)  # the client's own text, for the record
    with translation.override("ko"):
        assert explain(exc).summary == f"Prometheus({url})에 연결할 수 없습니다 (연결 거부)."
    # The same message stored earlier (a reason, an error column) reads the same.
    assert explain_text(str(exc)).summary == problem.summary
    assert short_cause(str(exc)) == "connection refused"


def test_alertmanager_refused_is_told_from_the_exception_chain():
    url = f"http://127.0.0.1:{free_port()}"
    exc = failure(lambda: AlertmanagerClient(url, timeout=2).loaded_config())
    assert isinstance(exc, AlertmanagerError) and "refused" not in str(exc).lower()  # the message does not say it
    assert explain(exc).summary == f"Alertmanager at {url} is not reachable (connection refused)."


def test_name_that_does_not_resolve():
    url = "http://ixnode-test-host.invalid:9090"
    exc = failure(lambda: PrometheusClient(url, timeout=3).job_names())
    problem = explain(exc)
    assert problem.kind == "dns"
    assert problem.summary == f"Prometheus at {url} is not reachable (the host name does not resolve)."


def test_server_that_never_answers(silent_server):
    exc = failure(lambda: PrometheusClient(silent_server, timeout=0.5).job_names())
    assert explain(exc).summary == f"Prometheus at {silent_server} did not answer in time."
    jenkins = JenkinsClient(url=silent_server, user="ci", token="t", timeout=0.5)
    exc = failure(lambda: jenkins.job_config(name="x"))
    assert isinstance(exc, JenkinsError)
    assert explain(exc).summary == f"Jenkins at {silent_server} did not answer in time."


def test_tls_against_a_plain_http_port(scripted_http_server):
    url = scripted_http_server.url.replace("http://", "https://")
    exc = failure(lambda: PrometheusClient(url, timeout=2).job_names())
    problem = explain(exc)
    assert problem.kind == "tls", problem
    assert problem.summary == f"Prometheus at {url}: the TLS certificate is not trusted."


def test_server_error_names_the_status(scripted_http_server):
    scripted_http_server.answer("/api/v1/status/config", status=500, body=b"boom", content_type="text/plain")
    exc = failure(lambda: PrometheusClient(scripted_http_server.url, timeout=2).job_names())
    assert explain(exc).summary == (
        f"Prometheus at {scripted_http_server.url} answered with a server error (HTTP 500).")
    with translation.override("ko"):
        assert "서버 오류로 응답했습니다 (HTTP 500)" in explain(exc).summary


def test_f5_refusing_the_password(f5_settings, settings):
    settings.IXNODE_F5_PASSWORD = "not-the-password"
    exc = failure(lambda: f5_client().list_members(pool="auto-vm-test-pool"))
    assert isinstance(exc, F5Error)
    problem = explain(exc)
    assert problem.kind == "auth" and problem.summary.startswith("F5 BIG-IP at ")
    assert problem.summary.endswith("refused the credentials.")


def test_settings_left_empty(settings):
    settings.IXNODE_VCENTER_HOST = ""
    exc = failure(lambda: vcenter_client().about())
    assert isinstance(exc, VCenterError)
    problem = explain(exc)
    assert problem.summary == "vCenter is not configured." and "IXNODE_VCENTER_HOST" in problem.detail
    with translation.override("ko"):
        assert explain(exc).summary == "vCenter이(가) 설정되지 않았습니다."


def test_the_products_own_errors_stay_as_they_are():
    problem = explain(RuntimeError("A run is in flight for shop-web: trim the warm pool later."))
    assert problem.summary == "A run is in flight for shop-web: trim the warm pool later." and problem.detail == ""
    assert explain_text("The config was deleted.").summary == "The config was deleted."


def test_a_callers_system_name_for_other_libraries():
    import requests

    url = f"http://127.0.0.1:{free_port()}"
    exc = failure(lambda: requests.get(url + "/healthz", timeout=2))
    assert explain(exc, system="This server", where=url).summary == (
        f"This server at {url} is not reachable (connection refused).")


def test_short_causes_of_scrape_errors():
    assert short_cause('Get "http://127.0.0.1:9100/metrics": dial tcp 127.0.0.1:9100: connect: connection refused'
                       ) == "connection refused"
    assert short_cause("context deadline exceeded (Client.Timeout exceeded while awaiting headers)") == \
        "no answer in time"
    assert short_cause("server returned HTTP status 500 Internal Server Error") == ""  # not our wording: left out
    assert short_cause("") == ""


def test_thread_safety_of_translation_is_per_call():
    """Sentences are built in the language active in the calling thread (pages in two languages at once)."""
    exc = failure(lambda: PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout=2).job_names())
    seen = {}

    def run(code):
        with translation.override(code):
            seen[code] = explain(exc).summary

    threads = [threading.Thread(target=run, args=(code,)) for code in ("en", "ko")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "not reachable" in seen["en"] and "연결할 수 없습니다" in seen["ko"]
