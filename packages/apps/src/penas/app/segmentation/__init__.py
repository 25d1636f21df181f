"""Semantic segmentation (ADE20K, TopFormer space): data, evaluation, and the segmentation
search's config and scorers (the search itself runs in :mod:`penas.app.search.segmentation`).

Submodules are imported on demand (``data``, ``evaluate``, ``show``, ``search_config``,
``search_scoring``); importing this package imports neither torch nor any data.
"""
