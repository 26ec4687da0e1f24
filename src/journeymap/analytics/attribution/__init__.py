"""Attribution: which channels, campaigns and messages move customers to convert.

Paths are built from events in Ibis (:mod:`.journeys`, portable across engines), or brought
as aggregated path rows (:mod:`.aggregated`); the models (:mod:`.models`, :mod:`.markov`,
:mod:`.shapley`, :mod:`.shao_li`) run on a :class:`PathSet` with numpy and scipy.
"""

from .markov import Chain, fit_chain, transition_rows
from .models import MODELS, Credits, Model, ModelOptions, attribute, find_model, model_names
from .pathset import NO_TOUCH, PathSet
from .transforms import TRANSFORMS, apply_transforms, last_steps, parse_transform

__all__ = [
    "MODELS",
    "NO_TOUCH",
    "TRANSFORMS",
    "Chain",
    "Credits",
    "Model",
    "ModelOptions",
    "PathSet",
    "apply_transforms",
    "attribute",
    "find_model",
    "fit_chain",
    "last_steps",
    "model_names",
    "parse_transform",
    "transition_rows",
]
