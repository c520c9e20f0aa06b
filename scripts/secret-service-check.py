#!/usr/bin/env python3
"""Smoke check: the Secret Service on $DBUS_SESSION_BUS_ADDRESS stores secrets.

Sets, reads back and deletes one password through the `keyring` package's
SecretService backend (chosen explicitly, never auto-detected). Exits 0 on
success; prints a clear message to stderr and exits 1 otherwise.
Run under the test venv's python (scripts/test does this).
"""

import os
import sys
import uuid
from typing import NoReturn


def fail(msg: str) -> NoReturn:
    print(f"secret-service-check: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def main() -> int:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        fail("DBUS_SESSION_BUS_ADDRESS is not set (no private session bus?)")

    try:
        import keyring
        from keyring.backends.SecretService import Keyring
    except ImportError as e:
        fail(f"cannot import keyring's SecretService backend: {e} "
             f"(python: {sys.executable}; is the venv installed?)")

    backend = Keyring()
    try:
        # priority raises when secretstorage/D-Bus/the service is unusable.
        backend.priority  # noqa: B018
    except Exception as e:  # noqa: BLE001
        fail(f"SecretService backend unavailable: {type(e).__name__}: {e}")
    keyring.set_keyring(backend)

    service = f"claude-auth-smoke-{uuid.uuid4().hex}"
    user = "smoke-user"
    secret = f"s3cret-{uuid.uuid4().hex}-\u00e9\u2713"
    try:
        keyring.set_password(service, user, secret)
        got = keyring.get_password(service, user)
        if got != secret:
            fail(f"read back {got!r}, expected {secret!r}")
        keyring.delete_password(service, user)
        after = keyring.get_password(service, user)
        if after is not None:
            fail(f"password still present after delete: {after!r}")
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        fail(f"{type(e).__name__}: {e} (is the collection locked, or did the "
             f"daemon try to show a prompt?)")

    from importlib.metadata import version

    print(f"secret-service-check: OK (keyring {version('keyring')}, "
          f"SecretStorage {version('SecretStorage')}, set/get/delete via "
          f"{type(backend).__module__}.{type(backend).__name__})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
