"""Sequential conditional denoising (FAST, seed 001): its limits are plain CFG, and Delta's bookkeeping."""

import pytest
import torch

from semantic.intents import partial_one_hot
from semantic.receivers.scd import (
    NEVER,
    ScdConfig,
    conditions_at,
    sequential_conditional_denoising,
)
from semantic.receivers.sdm import SemanticUNet, guided_sample

C = 3  # classes; channels C + 1 with void


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SemanticUNet(C + 1, (8, 16)).eval()


@pytest.fixture(scope="module")
def labels():
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, C, (2, 8, 8), generator=g)  # classes 0..2 only: void never appears


def run(model, labels, arrival, **config):
    return sequential_conditional_denoising(
        model, labels, arrival, C, torch.Generator().manual_seed(3), ScdConfig(steps=6, **config), return_deltas=True
    )


def test_partial_one_hot_keeps_received_channels_only(labels):
    received = torch.tensor([[True, False, True, False], [False, False, False, False]])
    seg = partial_one_hot(labels, C, received)
    assert torch.equal(seg[0, 0], (labels[0] == 0).float()) and seg[0, 1].sum() == 0 and seg[1].sum() == 0
    with pytest.raises(ValueError, match="4 channels"):
        partial_one_hot(labels, C, received[:, :3])


def test_conditions_at_an_arrival_schedule():
    arrival = torch.tensor([[0, 2, 2, NEVER]])
    for step, (all_, prev, new, latest) in {
        0: ([1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], 0),
        1: ([1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], 0),
        3: ([1, 1, 1, 0], [1, 0, 0, 0], [0, 1, 1, 0], 2),
    }.items():
        got = conditions_at(arrival, step)
        assert got[0].int().tolist() == [all_] and got[1].int().tolist() == [prev] and got[2].int().tolist() == [new]
        assert got[3].tolist() == [latest]


def test_w0_with_everything_at_step_0_is_ordinary_cfg(model, labels):
    arrival = torch.zeros(2, C + 1, dtype=torch.int64)
    got = sequential_conditional_denoising(model, labels, arrival, C, torch.Generator().manual_seed(3), ScdConfig(steps=6, w=0.0))
    from semantic.intents import one_hot

    want = guided_sample(model, one_hot(labels, C), torch.Generator().manual_seed(3), scale=1.5, steps=6)
    assert torch.equal(got.images, want)


def test_one_arrival_at_step_0_is_ordinary_cfg_for_every_w(model, labels):
    """The first arrival starts the denoising: C_prev shows nothing, Delta is off, CFG at scale s."""
    from semantic.intents import one_hot

    got = run(model, labels, torch.zeros(2, C + 1, dtype=torch.int64), w=2.0)
    want = guided_sample(model, one_hot(labels, C), torch.Generator().manual_seed(3), scale=1.5, steps=6)
    assert torch.equal(got.images, want) and all(d.abs().max() == 0 for d in got.deltas.values())


def test_delta_is_zero_before_arrivals_for_the_first_and_when_nothing_new_arrived(model, labels):
    # class 0 at step 0 (the first arrival), class 1 at step 2; at step 4 only void arrives, which
    # is in no pixel: nothing new.
    arrival = torch.tensor([[0, 2, NEVER, 4]] * 2)
    out = run(model, labels, arrival, w=4.0)
    assert all(out.deltas[i].abs().max() == 0 for i in (0, 1))  # only the first arrival so far
    assert out.deltas[2].abs().max() > 0 and out.deltas[3].abs().max() > 0  # class 1, until the next arrival
    assert all(out.deltas[i].abs().max() == 0 for i in (4, 5))  # the void arrival changed no pixel
    arrival_only = run(model, labels, arrival, w=4.0, window="arrival_step")
    assert arrival_only.deltas[2].abs().max() > 0 and arrival_only.deltas[3].abs().max() == 0
    late_start = run(model, labels, torch.tensor([[2, NEVER, NEVER, NEVER]] * 2), w=4.0)
    assert all(d.abs().max() == 0 for d in late_start.deltas.values())  # null map, then CFG: no Delta


def test_delta_equals_the_two_conditional_predictions_difference(model, labels):
    """At a later arrival Delta = eps(z, C_all) - eps(z, C_prev), as two separate model calls give it."""
    from semantic.intents import partial_one_hot

    arrival = torch.tensor([[0, 1, NEVER, NEVER]] * 2)
    captured = []
    original = model.forward

    def spy(x, t, label_map):
        out = original(x, t, label_map)
        captured.append((x.clone(), t, label_map.clone(), out))
        return out

    model.forward = spy
    try:
        out = run(model, labels, arrival, w=1.0)
    finally:
        del model.forward
    x, t, maps, eps = captured[1]  # step 1: the second arrival; batch = (null, C_all, C_prev) x B
    B = labels.shape[0]
    z = x[:B]
    all_map = partial_one_hot(labels, C, torch.tensor([True, True, False, False]))
    prev_map = partial_one_hot(labels, C, torch.tensor([True, False, False, False]))
    assert torch.equal(maps[B : 2 * B], all_map) and torch.equal(maps[2 * B :], prev_map)
    want = model(z, t, all_map) - model(z, t, prev_map)
    assert torch.allclose(out.deltas[1], want, atol=1e-5)


def test_w_changes_the_image_and_the_second_reading_differs(model, labels):
    arrival = torch.tensor([[0, 3, NEVER, NEVER], [1, 1, 4, NEVER]])
    plain = run(model, labels, arrival, w=0.0)
    fast = run(model, labels, arrival, w=4.0)
    second = run(model, labels, arrival, w=4.0, delta="new_minus_prev")
    assert not torch.allclose(plain.images, fast.images) and not torch.allclose(fast.images, second.images)
    with pytest.raises(ValueError, match="arrival has shape"):
        run(model, labels, arrival[:, :3])
    with pytest.raises(ValueError, match="window"):
        ScdConfig(window="sometimes")


def test_a_chain_cut_at_any_steps_and_resumed_gives_the_whole_chain(model, labels):
    arrival = torch.tensor([[0, 3, NEVER, NEVER], [1, 1, 4, NEVER]])
    config = ScdConfig(steps=6, w=4.0)
    noise = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(9))

    def chain(start, stop, x):
        return sequential_conditional_denoising(model, labels, arrival, C, torch.Generator(), config, noise=x,
                                                start_step=start, stop_step=stop)  # fmt: skip

    whole = chain(0, 6, noise)
    cut = chain(4, 6, chain(2, 4, chain(0, 2, noise).state).state)
    assert torch.allclose(cut.images, whole.images, atol=1e-5)
    assert not torch.allclose(chain(0, 2, noise).state, whole.state)  # the pieces did run
    with pytest.raises(ValueError, match="start_step"):
        chain(4, 2, noise)


def test_class_dropout_zeroes_whole_channels_at_its_rate():
    from sims.train.sdm import drop_classes

    seg = torch.ones(400, 12, 2, 2)
    g = torch.Generator().manual_seed(0)
    assert drop_classes(seg, 0.0, g) is seg and torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())
    out = drop_classes(seg, 0.3, g)
    per_channel = out.flatten(2)
    assert torch.all((per_channel == 0).all(-1) | (per_channel == 1).all(-1))  # whole channels only
    assert abs((per_channel[..., 0] == 0).float().mean().item() - 0.3) < 0.03


def test_the_partial_map_sdm_loads_by_name():
    from semantic.data import CAMVID_NUM_CLASSES
    from semantic.pretrained import load_pretrained, training_info

    model = load_pretrained("camvid-sdm-partial-32")
    assert isinstance(model, SemanticUNet) and model.config["label_channels"] == CAMVID_NUM_CLASSES + 1
    assert training_info("camvid-sdm-partial-32")["train"]["class_dropout"] == 0.3
