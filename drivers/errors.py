"""Errors raised by drivers: each names the role, the backend and the address it was talking to."""


class DriverError(Exception):
    """A piece of gear did not do what it was asked."""

    def __init__(self, role: str, backend: str, address: str, message: str) -> None:
        self.role = role
        self.backend = backend
        self.address = address
        self.message = message
        super().__init__(f"{role}: {backend} {address}: {message}")


class MissingExtraError(ImportError):
    """An optional hardware library is not installed."""

    def __init__(self, library: str, extra: str) -> None:
        super().__init__(
            f"{library} is not installed; install it with: pip install 'benchctl[{extra}]'"
        )
