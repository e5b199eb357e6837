"""django-q2 tasks: thin wrappers named after the services they call."""

from notifications.services import notification_send_for_event as _send_for_event


def notification_send_for_event(event_id: int) -> None:
    _send_for_event(event_id=event_id)
