"""Jenkins, through python-jenkins: the service's pipeline jobs (create / update when changed / delete) and the
builds the Jenkins executor starts. API token auth (``IXNODE_JENKINS_USER`` + ``IXNODE_JENKINS_TOKEN``);
python-jenkins fetches
the CSRF crumb itself. Errors come out as :class:`JenkinsError` subclasses with messages an operator can act on.
The client implements :class:`~ixnode.integrations.jenkins.interface.Jenkins` and is built by ``jenkins_client()``
(the one way).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TypeVar
from xml.etree import ElementTree as ET  # noqa: S405 - parses Jenkins' answer to compare job configs

import jenkins
import requests
from django.conf import settings

from ixnode.integrations.jenkins.interface import (
    BuildStatus,
    Jenkins,
    JenkinsAuthError,
    JenkinsError,
    JenkinsNotFoundError,
    JenkinsUnavailableError,
    QueueItem,
)

__all__ = ["JenkinsClient", "JenkinsError", "canonical_xml", "jenkins_client"]

T = TypeVar("T")


def canonical_xml(xml: str) -> str:
    """Whitespace- and declaration-insensitive form, to tell whether Jenkins already has our config."""
    try:
        return ET.canonicalize(xml, strip_text=True)
    except ET.ParseError:
        return xml.strip()


class JenkinsClient:
    """The product's view of one Jenkins server."""

    def __init__(self, *, url: str, user: str, token: str, timeout: float = 15.0) -> None:
        self.url = url.rstrip("/")
        # The stubs say int; python-jenkins hands the timeout to requests, which takes seconds as a float.
        self._server = jenkins.Jenkins(
            self.url, username=user or None, password=token or None, timeout=timeout  # type: ignore[arg-type]
        )

    def _call(self, action: str, func: Callable[[], T]) -> T:
        try:
            return func()
        except jenkins.NotFoundException as exc:
            raise JenkinsNotFoundError(f"Jenkins at {self.url}: {action}: not found") from exc
        except jenkins.TimeoutException as exc:
            raise JenkinsUnavailableError(f"Jenkins at {self.url} did not answer in time ({action}): {exc}") from exc
        except jenkins.JenkinsException as exc:
            text = str(exc)
            if "does not exist" in text:  # python-jenkins' wording for a 404 on builds and queue items
                raise JenkinsNotFoundError(f"Jenkins at {self.url}: {action}: {text}") from exc
            if "[401]" in text or "[403]" in text:
                raise JenkinsAuthError(
                    f"Jenkins at {self.url} refused {action}: check IXNODE_JENKINS_USER/IXNODE_JENKINS_TOKEN and the "
                    f"user's "
                    f"permissions ({text.splitlines()[0]})"
                ) from exc
            raise JenkinsError(f"Jenkins at {self.url}: {action} failed: {text}") from exc
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            detail = exc.response.headers.get("X-Error", "") if exc.response is not None else ""
            raise JenkinsError(f"Jenkins at {self.url}: {action} failed with HTTP {status} {detail}".strip()) from exc
        except requests.RequestException as exc:
            raise JenkinsUnavailableError(
                f"Jenkins at {self.url} is unreachable ({action}): {exc.__class__.__name__}; check IXNODE_JENKINS_URL"
            ) from exc

    # --- jobs -----------------------------------------------------------------------------------------
    def job_config(self, *, name: str) -> str | None:
        try:
            return self._call(f"read job {name}", lambda: self._server.get_job_config(name))
        except JenkinsNotFoundError:
            return None

    def job_upsert(self, *, name: str, config_xml: str) -> str:
        """Create the job, or update it when its config differs. Returns created / updated / unchanged."""
        current = self.job_config(name=name)
        if current is None:
            self._call(f"create job {name}", lambda: self._server.create_job(name, config_xml))
            return "created"
        if canonical_xml(current) == canonical_xml(config_xml):
            return "unchanged"
        self._call(f"update job {name}", lambda: self._server.reconfig_job(name, config_xml))
        return "updated"

    def job_delete(self, *, name: str) -> bool:
        """Delete the job; False when it did not exist."""
        try:
            self._call(f"delete job {name}", lambda: self._server.delete_job(name))
        except JenkinsNotFoundError:
            return False
        return True

    # --- builds (Jenkins executor) --------------------------------------------------------------------
    def build_start(self, *, name: str, parameters: Mapping[str, str | int | float | bool]) -> int:
        """Queue a build with parameters; returns the queue item id."""
        params = {k: str(v) for k, v in parameters.items()}
        return self._call(f"start job {name}", lambda: self._server.build_job(name, parameters=params))

    def queue_item(self, *, queue_id: int) -> QueueItem:
        data = self._call(f"read queue item {queue_id}", lambda: self._server.get_queue_item(queue_id))
        executable = data.get("executable") or {}
        return QueueItem(
            id=int(data.get("id", queue_id)),
            job=(data.get("task") or {}).get("name", ""),
            build_number=executable.get("number"),
            build_url=executable.get("url"),
            cancelled=bool(data.get("cancelled")),
            why=data.get("why"),
        )

    def queue_cancel(self, *, queue_id: int) -> None:
        """Cancel a queued build (``POST /queue/cancelItem?id=``). Jenkins answers 204, or 404 for an item it no
        longer has (python-jenkins ignores that); an item that already left the queue is not cancellable."""
        self._call(f"cancel queue item {queue_id}", lambda: self._server.cancel_queue(queue_id))

    def build_status(self, *, name: str, number: int) -> BuildStatus:
        data = self._call(f"read build {name}#{number}", lambda: self._server.get_build_info(name, number))
        return BuildStatus(
            job=name,
            number=int(data["number"]),
            url=data.get("url", ""),
            building=bool(data.get("building")),
            result=data.get("result"),
        )

    def build_for_queue_item(self, *, name: str, queue_id: int, scan: int = 10) -> int | None:
        """The number of the build a queue item became: from the item (``executable``) when Jenkins still has
        it, else by the ``queueId`` of the job's last ``scan`` builds; None when no build came of it."""
        try:
            number = self.queue_item(queue_id=queue_id).build_number
        except JenkinsError:
            number = None
        if number is not None:
            return int(number)
        info = self._call(f"read job {name}", lambda: self._server.get_job_info(name))
        for build in (info.get("builds") or [])[:scan]:
            build_number = int(build["number"])
            data = self._call(f"read build {name}#{build_number}",
                              functools.partial(self._server.get_build_info, name, build_number))
            if data.get("queueId") == queue_id:
                return int(data["number"])
        return None

    def build_stop(self, *, name: str, number: int) -> None:
        self._call(f"stop build {name}#{number}", lambda: self._server.stop_build(name, number))


def jenkins_client() -> Jenkins | None:
    """The Jenkins configured by IXNODE_JENKINS_URL, IXNODE_JENKINS_USER, IXNODE_JENKINS_TOKEN and
    IXNODE_JENKINS_TIMEOUT, or None when
    IXNODE_JENKINS_URL is not set (Jenkins jobs are skipped): the one way the product builds a Jenkins client."""
    if not settings.IXNODE_JENKINS_URL:
        return None
    return JenkinsClient(
        url=settings.IXNODE_JENKINS_URL,
        user=settings.IXNODE_JENKINS_USER,
        token=settings.IXNODE_JENKINS_TOKEN,
        timeout=settings.IXNODE_JENKINS_TIMEOUT,
    )
