"""The search stack of ``penas-app search``: one session for both searches.

=================  ==========================================================================
``session``        :class:`~.session.SearchSession`, the strategies' context: role bindings, the
                   score store (every score through ``cached_scores``), candidates, constraints
``constraints``    params / FLOPs (optionally at a resolution) / latency constraints, feasible sampling
``run_dir``        the resumable run directory and its stages
``accounting``     the charged cost (archs evaluated, epochs, runtime) from the stage records
``summary``        the printed summaries of both searches
``cell``           the cell-space search: ``SearchConfig`` -> strategy, bindings, session, result
``segmentation``   the TopFormer search: ``SegSearchConfig`` -> the same session, report
=================  ==========================================================================

Submodules are imported on demand; importing this package imports nothing else.
"""
