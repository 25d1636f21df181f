"""The aw_nas study family of ``penas-app``: zero-shot grids, the study grid (its supernet stage runs
:mod:`penas.app.supernet`) and estimator bias analysis. Nothing here imports torch at import time."""
