"""The typed worker cache (sims.cache)."""

import pytest

from phy import LinkConfig
from sims.cache import WorkerCache


def test_objects_are_built_once_per_type_and_config():
    cache, built = WorkerCache(), []

    def build():
        built.append(1)
        return [len(built)]

    a = cache.get(list, (LinkConfig(), "cpu"), build)
    assert cache.get(list, (LinkConfig(), "cpu"), build) is a and len(built) == 1
    cache.get(list, (LinkConfig(modulation="qpsk", code={"k": 224, "n": 448}), "cpu"), build)
    assert len(built) == 2 and len(cache) == 2
    with pytest.raises(TypeError, match="built a list for a dict entry"):
        cache.get(dict, "x", build)


def test_the_shared_draw_is_reused_only_for_the_same_key():
    cache, calls = WorkerCache(), []

    def draw(value):
        calls.append(value)
        return value

    assert cache.shared_draw(("point", 1), lambda: draw(1)) == 1
    assert cache.shared_draw(("point", 1), lambda: draw(99)) == 1
    assert cache.shared_draw(("point", 2), lambda: draw(2)) == 2
    assert calls == [1, 2]
