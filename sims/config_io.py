"""Reading TOML configs into validated models, with one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from phy.config import format_validation_error

__all__ = ["ConfigError", "load_config", "validate_config"]

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A config file that cannot be used; the message is one line naming the key."""


def validate_config(data: dict, model: type[Model], source: str = "<config>") -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc)}") from None


def load_config(path: str | Path, model: type[Model]) -> Model:
    """Parse and validate a TOML file; raise :class:`ConfigError` on any problem."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return validate_config(data, model, str(path))
