"""User drops and intent patterns (phy.multicast.draws)."""

import pytest

from phy.multicast import (
    intent_matrix,
)


def test_intent_patterns():
    assert intent_matrix("chain", 3).tolist() == [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    assert intent_matrix("shared", 2, 3).sum() == 2
    assert intent_matrix("disjoint", 2, per_user=2).tolist() == [[1, 1, 0, 0], [0, 0, 1, 1]]
    assert intent_matrix("ring", 3, per_user=2).tolist() == [[1, 1, 0], [0, 1, 1], [1, 0, 1]]
    with pytest.raises(ValueError, match="per_user applies"):
        intent_matrix("chain", 3, per_user=2)
    with pytest.raises(ValueError, match="intents"):
        intent_matrix("random", 3)
    with pytest.raises(ValueError, match="num_classes"):
        intent_matrix("disjoint", 3, 2)
