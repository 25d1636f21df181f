"""Semantic segmentation (ADE20K, TopFormer space): data, evaluation, supernet search.

Submodules are imported on demand (``data``, ``evaluate``, ``show``, ``search``); importing
this package imports neither torch nor any data.
"""
