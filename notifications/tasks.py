"""django-q2 tasks: thin wrappers named after the services they call."""

from notifications.choices import NotificationKind
from notifications.services import notification_send
from notifications.services import notification_send_for_event as _send_for_event


def notification_send_for_event(event_id: int) -> None:
    _send_for_event(event_id=event_id)


def notification_send_integration_down(system: str, text: str) -> None:
    notification_send(kind=NotificationKind.INTEGRATION_DOWN, key=system, text=text)
