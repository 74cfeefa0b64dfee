"""What users run: the `gscsim` command line, sweeps, configs and benchmarks.

May import every other package; nothing imports ``sims``.
"""
