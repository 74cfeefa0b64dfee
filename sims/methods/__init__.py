"""Built-in methods; importing this package registers them."""

from . import (  # noqa: F401
    ber,
    deepjscc,
    gsc,
    intent_images,
    multicast,
    nullspace,
    received,
    repaint,
    separation,
)
