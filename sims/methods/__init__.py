"""Built-in methods; importing this package registers them."""

from . import baselines, ber, generative, multicast, received  # noqa: F401
