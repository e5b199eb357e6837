"""What the product asks of Jenkins (:class:`Jenkins`), the neutral data it gets back and the errors it can raise.

Product code depends on this module only; ``client.py`` holds the python-jenkins implementation and
``jenkins_client()``, the one way to build it (None when IXNODE_JENKINS_URL is not set).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class JenkinsError(Exception):
    """Base of the Jenkins integration's errors."""


class JenkinsUnavailableError(JenkinsError):
    """Jenkins cannot be reached (URL, network, timeout)."""


class JenkinsAuthError(JenkinsError):
    """Jenkins refused the credentials or the permission."""


class JenkinsNotFoundError(JenkinsError):
    """The job, build or queue item does not exist."""


@dataclass(frozen=True)
class QueueItem:
    id: int
    job: str
    build_number: int | None
    build_url: str | None
    cancelled: bool
    why: str | None


@dataclass(frozen=True)
class BuildStatus:
    job: str
    number: int
    url: str
    building: bool
    result: str | None  # SUCCESS, FAILURE, ABORTED, UNSTABLE, None while building

    @property
    def succeeded(self) -> bool:
        return not self.building and self.result == "SUCCESS"


class Jenkins(Protocol):
    """The Jenkins calls the product makes: the service's jobs, and the builds the Jenkins executor follows. Every
    method raises only :class:`JenkinsError` subclasses."""

    def job_config(self, *, name: str) -> str | None:
        """The job's config.xml, or None when the job does not exist."""
        ...

    def job_upsert(self, *, name: str, config_xml: str) -> str:
        """Create the job, or update it when its config differs: ``created``, ``updated`` or ``unchanged``."""
        ...

    def job_delete(self, *, name: str) -> bool:
        """Delete the job; False when it did not exist."""
        ...

    def build_start(self, *, name: str, parameters: Mapping[str, str | int | float | bool]) -> int:
        """Queue a build with parameters; the queue item id."""
        ...

    def queue_item(self, *, queue_id: int) -> QueueItem: ...

    def queue_cancel(self, *, queue_id: int) -> None: ...

    def build_status(self, *, name: str, number: int) -> BuildStatus: ...

    def build_for_queue_item(self, *, name: str, queue_id: int, scan: int = 10) -> int | None:
        """The number of the build a queue item became; None when no build came of it."""
        ...

    def build_stop(self, *, name: str, number: int) -> None: ...
