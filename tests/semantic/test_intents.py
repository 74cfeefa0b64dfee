"""Intent decomposition and composition."""

import pytest
import torch

from semantic.intents import class_images, class_masks, compose, intent_masks, one_hot


def labels(seed=0, B=2, S=8, ids=12):
    return torch.randint(0, ids, (B, S, S), generator=torch.Generator().manual_seed(seed))


def test_class_masks_partition_the_labelled_pixels():
    lab = labels()
    m = class_masks(lab, 11)
    assert m.shape == (2, 11, 8, 8) and m.dtype == torch.bool
    covered = m.sum(dim=1)
    assert torch.equal(covered, (lab < 11).long())  # each labelled pixel in exactly one mask, void in none
    h = one_hot(lab, 11)
    assert torch.equal(h.sum(dim=1), torch.ones(2, 8, 8)) and h.shape[1] == 12


def test_intended_and_non_intended_partition_the_image():
    lab = labels(1)
    intents = torch.zeros(3, 11, dtype=torch.bool)
    intents[0, 0] = intents[1, [1, 3]] = True  # user 2 wants nothing
    mi = intent_masks(lab, intents)
    assert torch.equal(mi[:, 0], lab == 0)
    assert torch.equal(mi[:, 1], (lab == 1) | (lab == 3))
    assert not mi[:, 2].any()
    assert torch.equal(mi | ~mi, torch.ones_like(mi)) and not (mi & ~mi).any()


def test_class_images_keep_only_their_class():
    lab = labels(2)
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    xl = class_images(x, class_masks(lab, 11))
    assert xl.shape == (2, 11, 3, 8, 8)
    for l in (0, 5):
        m = (lab == l).unsqueeze(1)
        assert torch.equal(torch.where(m, xl[:, l], x), x)
        assert torch.all(xl[:, l][~m.expand(-1, 3, -1, -1)] == 0)


def test_composition_copies_intended_pixels_exactly():
    lab = labels(3)
    intents = torch.eye(2, 11, dtype=torch.bool)
    mi = intent_masks(lab, intents)
    rec = torch.rand(2, 2, 3, 8, 8)
    syn = torch.rand(2, 3, 8, 8)
    y = compose(rec, syn, mi)
    m = mi.unsqueeze(2).expand_as(rec)
    assert torch.equal(y[m], rec[m])
    assert torch.equal(y[~m], syn.unsqueeze(1).expand_as(rec)[~m])
    with pytest.raises(ValueError, match="compose"):
        compose(rec, syn, mi[:, :1])


def test_bad_labels():
    with pytest.raises(ValueError, match="labels"):
        class_masks(torch.rand(2, 8, 8), 11)
