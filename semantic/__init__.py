"""gscsim meaning layer: datasets, source codecs, diffusion receivers, metrics.

Imports neither ``phy`` nor ``bridges``; receivers work with any linear
measurement operator. (Populated by the receiver issues.)
"""
