"""Built-in methods; importing this package registers them."""

from . import ber, generative, received  # noqa: F401
