#!/usr/bin/env python
"""Django's command-line utility for IXNode Autoscaling."""

import os
import select
import sys

try:
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
except ImportError as exc:  # another Python than the project's venv (python3 manage.py …)
    sys.stderr.write(
        f"Django cannot be imported by {sys.executable} ({exc}). Run the project's commands with its venv: "
        ".venv/bin/python manage.py … (make run, or make venv, creates it).\n"
    )
    sys.exit(2)

from ixnode.management.errors import (  # noqa: E402 - once Django is known to be there
    SETUP_ERRORS,
    database_error_message,
)


def stdout_closed() -> bool:
    """Whether the reader of standard output is gone (the write end of a pipe whose read end was closed)."""
    poller = select.poll()
    poller.register(sys.stdout.fileno(), select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ixnode.settings")

    try:
        execute_from_command_line(sys.argv)
        sys.stdout.flush()  # here, where a reader gone away is handled, rather than at exit
    except ImproperlyConfigured as exc:
        if "--traceback" in sys.argv:
            raise
        # A setting that cannot be used (ixnode/settings.py, ixnode/env.py): the message says which and how to fix it.
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(2)
    except SETUP_ERRORS as exc:
        if "--traceback" in sys.argv:
            raise
        # Not migrated yet (a command run before make run or migrate), or unreachable: say which, and what to run.
        # Other database errors (an IntegrityError from loaddata, a data migration's) show as they are.
        sys.stderr.write(database_error_message(exc, command=sys.argv[1] if len(sys.argv) > 1 else "") + "\n")
        sys.exit(1)
    except BrokenPipeError:
        # The reader of the output went away (manage.py simulate … | head): stop quietly, as other command-line
        # tools do. A broken pipe of anything else (a socket, a subprocess) is an error and shows as one.
        if not stdout_closed():
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
