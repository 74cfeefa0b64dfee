"""gscsim seams: images/latents <-> bits <-> symbols <-> resource grid <-> receiver
tensors. Thin adapters over ``phy`` and ``semantic``; no models.
"""
