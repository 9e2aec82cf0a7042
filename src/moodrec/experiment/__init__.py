"""The recommend experiment: fit → evaluate → table, above both models and evaluation.

* :mod:`~moodrec.experiment.tuning` — budgeted hyperparameter search on a validation split;
* :mod:`~moodrec.experiment.stage` — the recommend stage as pure functions: the split, one
  model's tuning and fit, its full-ranking evaluation, the summary table (as Cornac's
  ``Experiment`` does); ``tasks/recommend.py`` wraps each in a short Prefect task.
"""
