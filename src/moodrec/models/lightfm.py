"""LightFM-like feature embeddings in torch (Kula 2015): ``lightfm``.

An item is the sum of its id embedding and the embeddings of its content features,
``q_i = e_i + Σ_f x_if · E_f`` (and likewise its bias), a user is an id embedding, and the
score is ``p_u · q_i + b_i``; training uses the BPR loss on the hardest of ``negative_pool``
uniform negatives (a WARP-like search for a violating negative). The features are the
standardised columns of the chosen groups plus missing-content flags
(:func:`moodrec.models.content_input.content_matrix`), so an item without a group's content
has its own learned offset instead of a silent zero.

Items without training interactions have no trained id embedding: they are scored from their
features alone. ``cf_dropout`` drops the id embedding of a training item now and then
(DropoutNet) so that the feature embeddings learn to score on their own. The network is the
hybrid's (:mod:`moodrec.models.hybrid`) with a linear content map instead of an MLP.
"""

from __future__ import annotations

from typing import Any, ClassVar

from moodrec.models.deep_config import LightFMConfig
from moodrec.models.factor import CONTRACT_TRAINING
from moodrec.models.hybrid import HybridRecommender


class LightFMRecommender(HybridRecommender):
    """Id + feature embeddings (linear content map), BPR with hard negatives; scores cold items.

    Hyperparameters: the fields of :class:`~moodrec.models.deep_config.LightFMConfig`
    (``factors``, ``groups``, ``cf_dropout``, ``lr``, ``reg``, ``epochs``, ``device`` …).
    """

    name = "lightfm"
    config_class = LightFMConfig
    contract_params: ClassVar[dict[str, Any]] = {
        **CONTRACT_TRAINING,
        "factors": 8,
        "lr": 0.05,
        "negative_pool": 1,
        "groups": ["audio"],
    }
