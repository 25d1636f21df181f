"""Imports every estimator module so that each registers itself."""

from . import combination, one_shot, partial_training, predictor, simple, zero_cost  # noqa: F401
