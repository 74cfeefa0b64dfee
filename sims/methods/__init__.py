"""Built-in methods; importing this package registers them."""

from . import baselines, ber, generative, intent_images, multicast, received  # noqa: F401
