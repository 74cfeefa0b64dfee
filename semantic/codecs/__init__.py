"""Source codecs."""
