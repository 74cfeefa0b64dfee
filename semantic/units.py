"""Semantic units of a label map and their attributes: FAST's prompt words, for label maps (seed 001).

FAST (seed 001, Sec. III-IV) sends a prompt word by word; each word (a *semantic unit*) has
one of J attributes (NOUN, ADJECTIVE, STYLE, VERB, OTHERS), and the ordering agent sees the
request as an N x J one-hot matrix. Prompts, Stable Diffusion and CLIP are not available
offline; gscsim's substitute: a unit is one class of a CamVid label map (its region), sent as
that class's one-hot channel; attributes group the classes. The default grouping
(:data:`CAMVID_ATTRIBUTES`) puts the classes that set the layout in ``stuff``, the countable
things in ``objects``, vegetation and the pavement in ``nature``, the thin structures in
``thin``, and void in ``other`` (void pixels are not scored, like FAST's OTHERS words "a",
"of", "the", which add little to the image).

Shapes: labels int64 (B, H, W) with ids 0..C (C = void); unit slots are the C + 1 channels of
:func:`semantic.intents.one_hot`, in channel order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["CAMVID_ATTRIBUTES", "UnitAttributes", "present_units"]

#: attribute -> CamVid class names (``semantic.data.CAMVID_CLASSES``; "Unlabelled" is void).
CAMVID_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "objects": ("Car", "Pedestrian", "Bicyclist"),
    "stuff": ("Road", "Sky", "Building"),
    "nature": ("Tree", "Pavement"),
    "thin": ("Pole", "SignSymbol", "Fence"),
    "other": ("Unlabelled",),
}


@dataclass(frozen=True)
class UnitAttributes:
    """Which attribute each unit slot (class channel) has.

    :param names: the J attribute names, in column order.
    :param of_slot: int (N,): the attribute index of each of the N = C + 1 slots.
    """

    names: tuple[str, ...]
    of_slot: tuple[int, ...]

    @classmethod
    def from_groups(cls, groups: dict[str, tuple[str, ...]], class_names: tuple[str, ...]) -> UnitAttributes:
        """Attributes from ``{attribute: class names}``; every class of ``class_names`` (void last) in
        exactly one group, else ValueError naming the class."""
        where = {}
        for j, (attribute, members) in enumerate(groups.items()):
            for name in members:
                if name not in class_names:
                    raise ValueError(f"attribute {attribute!r}: unknown class {name!r} (classes: {', '.join(class_names)})")
                if name in where:
                    raise ValueError(f"class {name!r} is in two attributes")
                where[name] = j
        missing = [name for name in class_names if name not in where]
        if missing:
            raise ValueError(f"classes without an attribute: {', '.join(missing)}")
        return cls(tuple(groups), tuple(where[name] for name in class_names))

    @property
    def num_slots(self) -> int:
        """N, the unit slots (classes + void)."""
        return len(self.of_slot)

    @property
    def num_attributes(self) -> int:
        """J."""
        return len(self.names)

    def one_hot(self, present: torch.Tensor) -> torch.Tensor:
        """FAST's request matrix O: float32 (B, N, J), row n the one-hot attribute of slot n where the
        unit is present (bool (B, N)), a zero row (padding) where it is not."""
        eye = torch.eye(self.num_attributes)[list(self.of_slot)]
        return eye.to(present.device) * present[..., None].float()


def present_units(labels: torch.Tensor, num_classes: int, min_pixels: int = 1) -> torch.Tensor:
    """bool (B, C + 1): which classes (void last) cover at least ``min_pixels`` pixels of each map
    int64 (B, H, W): the units a receiver can request."""
    ids = labels.long().clamp(max=num_classes).flatten(1)
    counts = torch.zeros(ids.shape[0], num_classes + 1, dtype=torch.int64, device=labels.device)
    counts.scatter_add_(1, ids, torch.ones_like(ids))
    return counts >= min_pixels
