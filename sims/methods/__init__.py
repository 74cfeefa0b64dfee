"""Built-in methods; importing this package registers them."""

from . import ber  # noqa: F401
