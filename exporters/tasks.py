"""django-q2 tasks of the exporters app (thin wrappers named after their services)."""

from exporters.services import exporter_install_run as _run


def exporter_install_run(install_id: int) -> None:
    _run(install_id=install_id)
