"""Reading TOML files; the one error type every config problem becomes."""

from __future__ import annotations

import tomllib
from pathlib import Path

__all__ = ["ConfigError", "read_toml"]


class ConfigError(ValueError):
    """A config or command that cannot be used; the message is one line naming the key."""


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file; raise :class:`ConfigError` when missing or malformed."""
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
