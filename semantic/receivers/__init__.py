"""Generative receivers: null-space (DDNM/DDNM+) sampling and RePaint, on diffusers models."""
