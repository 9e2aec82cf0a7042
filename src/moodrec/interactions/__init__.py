"""The user × item layer every recommender and every evaluation shares.

* :mod:`~moodrec.interactions.matrix` — interaction matrices from ``plays``, weighting schemes
  and the maps between matrix indices and dataset ids;
* :mod:`~moodrec.interactions.ranking` — top-k of score rows (ties by lower item index) and
  the per-user ranking metrics of a ranked list.

It sits below both :mod:`moodrec.models` and :mod:`moodrec.evaluation`, so a model can weight
its own matrix or select on validation NDCG without importing the evaluation package.
"""
