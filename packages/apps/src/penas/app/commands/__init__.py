"""Sub-command modules. Each one adds its commands to :data:`penas.app.commands._app.app` on import."""

from . import config, data, evaluate, retrain, search, segmentation, study, supernet  # noqa: F401
