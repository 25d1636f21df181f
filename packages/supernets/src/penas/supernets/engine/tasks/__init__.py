"""Training tasks of the engine: each is a loss, its data and its end-of-epoch work on one
:class:`~penas.supernets.engine.loop.TrainLoop`.

* :mod:`.supernet` -- supernet training (uniform / deiso / FairNAS / sandwich, in-place KD);
* :mod:`.retrain`  -- stand-alone retraining (cross-entropy + auxiliary head + drop-path, EMA, eval);
* :mod:`.partial`  -- partial training of one arch for ``e`` epochs, resumable per arch;
* :mod:`.finetune` -- fine-tuning one subnet for a number of iterations (segmentation).

Nothing is imported here: import the task module you need.
"""
