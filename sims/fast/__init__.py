"""FAST (seed 001): the unit-ordering MDP, its reward oracle and its policies (experiments, not library)."""
