"""Recommenders behind one ``Recommender`` contract (fit, recommend, score, save, load).

This layer is filled by the recommenders issue; saved models go to ``data/<profile>/models``,
never into this package.
"""
