"""Built-in methods; importing this package registers them."""

from . import (  # noqa: F401
    ber,
    deepjscc,
    fast,
    gsc,
    intent_images,
    mgsc,
    multicast,
    nullspace,
    received,
    repaint,
    separation,
)
