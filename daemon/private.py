"""Files and folders only caredesk's own user may read: 0600 and 0700, whatever the umask.

The database, the file outbox and the Maildir folders hold customers' mail and
names. Everything caredesk creates for them is created private: folders 0700,
files 0600, with the mode given at creation (never a window in which a file is
readable by others) and set again afterwards, so a permissive or odd umask
changes nothing. What already exists is left as the administrator made it: a
Maildir shared with a delivery agent's group keeps its mode.

This module imports nothing of ours, so every layer may use it.
"""

from __future__ import annotations

import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_directory(path: Path) -> Path:
    """Make `path` and any missing parents as 0700 folders; an existing one is left alone."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:
            continue  # made by another process meanwhile
        os.chmod(folder, DIRECTORY_MODE)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    return path


def create_private_file(path: Path) -> bool:
    """Create `path` empty as a 0600 file unless it exists; whether it was created."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)
    return True


def open_private(path: Path) -> int:
    """A new file at `path` (replacing a leftover one), open for writing, 0600."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)
    return descriptor


def make_private(path: Path) -> bool:
    """Set an existing file of ours to 0600 (a folder to 0700); False when it is not ours to change."""
    try:
        os.chmod(path, DIRECTORY_MODE if path.is_dir() else FILE_MODE)
    except PermissionError:
        return False
    return True
