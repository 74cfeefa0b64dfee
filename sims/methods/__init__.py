"""Built-in methods; importing this package registers them."""

from . import ber, received  # noqa: F401
