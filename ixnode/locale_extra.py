"""Strings of installed apps that ship no Korean catalogue, shown on the admin index (django-q2's model names).

Listed here with ``gettext_noop`` so ``makemessages`` keeps them in ``locale/ko/LC_MESSAGES/django.po``; Django
then finds their Korean there (the project's catalogue is searched before the apps' own). Nothing imports this
module: it exists for the message extraction.
"""

from django.utils.translation import gettext_noop

DJANGO_Q_MODELS = (
    gettext_noop("Task"),
    gettext_noop("Tasks"),
    gettext_noop("Successful task"),
    gettext_noop("Successful tasks"),
    gettext_noop("Failed task"),
    gettext_noop("Failed tasks"),
    gettext_noop("Scheduled task"),
    gettext_noop("Scheduled tasks"),
    gettext_noop("Queued task"),
    gettext_noop("Queued tasks"),
)

# django-simple-history's history page (admin).
SIMPLE_HISTORY = (
    gettext_noop("Created"),
    gettext_noop("Changed"),
    gettext_noop("Deleted"),
    gettext_noop("Choose a date from the list below to revert to a previous version of this object."),
    gettext_noop("This object doesn't have a change history."),
    gettext_noop("View history: %s"),
    gettext_noop("Change history: %s"),
    gettext_noop("Revert %s"),
    gettext_noop("View %s"),
    gettext_noop("History"),
)
