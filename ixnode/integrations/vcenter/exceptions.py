"""What can go wrong talking to vCenter, in terms an operator can act on (no pyVmomi types leak out)."""

from __future__ import annotations


class VCenterError(Exception):
    """Base of every vCenter failure; ``str(exc)`` says what failed and what to check."""

    def __init__(self, message: str, *, fault: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fault = fault  # the vSphere fault's class name, when there was one


class VCenterConfigError(VCenterError):
    """The VCENTER_* settings are missing or inconsistent."""


class VCenterUnavailable(VCenterError):
    """vCenter could not be reached (network, DNS, refused connection, timeout)."""


class VCenterTLSError(VCenterUnavailable):
    """The TLS handshake failed: certificate not trusted or pinned thumbprint mismatch."""


class VCenterAuthError(VCenterError):
    """vCenter rejected the credentials."""


class VCenterPermissionDenied(VCenterAuthError):
    """The account is valid but lacks a privilege on the object."""


class VCenterNotFound(VCenterError):
    """A VM, template, datacenter, folder, resource pool or datastore does not exist."""


class VCenterTaskFailed(VCenterError):
    """A vCenter task or call ended with a fault."""


class VCenterAlreadyExists(VCenterTaskFailed):
    """An object with that name already exists (DuplicateName)."""


class VCenterTimeout(VCenterTaskFailed):
    """A task or a wait (guest IP, guest shutdown) did not finish in time."""
