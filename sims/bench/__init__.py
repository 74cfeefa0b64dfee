"""Benchmarks: each module has ``main(argv)`` and prints ratios against a reference measured in the same run.

Run one with ``gscsim bench NAME`` or all with ``gscsim bench all`` (``make bench``).
"""
