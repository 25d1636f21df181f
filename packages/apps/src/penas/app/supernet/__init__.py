"""The supernet workflows of ``penas-app supernet``: typed config in, result out, no printing.

============  ===============================================================================
``train``     :class:`~.train.SupernetTrainConfig` -> :func:`~.train.run_supernet_train` ->
              :class:`~.train.TrainSummary` (preset training, resumable, DDP under torchrun)
``evaluate``  :class:`~.evaluate.SupernetEvalConfig` -> :func:`~.evaluate.run_supernet_eval` ->
              one :class:`~.evaluate.EvalSummary` per checkpoint (one-shot scores into a store)
============  ===============================================================================

Which images each one uses is :mod:`penas.app.study.supernet_data`'s. Submodules are imported on
demand; importing this package imports nothing else. The same calls are
:func:`penas.app.workflows.supernet_train` / :func:`penas.app.workflows.supernet_eval`.
"""
