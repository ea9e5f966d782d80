"""Start-up checks that keep a deployment from running with settings anyone could exploit."""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.utils import get_random_secret_key


def refuse_insecure_start() -> None:
    """Refuse to serve or run jobs outside debug with the secret key published in settings.py:
    anyone could forge sessions and password-reset links with it."""
    if not settings.DEBUG and settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        raise CommandError(
            "the secret key is the published development key: run `registrar init` (which writes "
            "a key of this installation) or set REGISTRAR_SECRET_KEY; REGISTRAR_DEBUG=1 allows it "
            "for development",
            returncode=2,
        )


def write_secret_key(path: Path) -> bool:
    """Write a random secret key of this installation to `path` (mode 0600, its folder created),
    unless the file exists already: a key written once stays, so sessions and mailed links keep
    working across upgrades. True when a key was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(get_random_secret_key() + "\n")
    return True
