"""Every name a model goes by, in the Perf API's words and in each provider's, mapped to its Perf name.

Decision: wherever the simulator selects requests by model (fault rules, journal filters and counts, metrics labels),
the names of one Perf model are one model: a success is journalled with the engine's (Perf) name, a request the
engine never saw (faulted, refused) with the name it gave, and a selection by either name finds both, whichever face
the request came by. The price is that a provider's several names for one Perf model (sd3-medium and sd3.5-large both
render stable-diffusion-3) select each other's requests.
"""

from __future__ import annotations

from spec.models import MODELS
from spec.providers import bfl, google, ideogram, stability

_PERF_NAMES = {
    **{name: stability.STABILITY_PERF_MODEL for name in stability.STABILITY_MODELS},
    **{name: ideogram.IDEOGRAM_PERF_MODEL for name in ideogram.IDEOGRAM_MODELS},
    **google.IMAGEN_MODELS,
    **bfl.BFL_MODELS,
    **{native: name for name, spec in MODELS.items() for native in spec.native_ids.values()},
}


def perf_model_name(model: str) -> str:
    """The Perf name of a model named in its provider's words (`imagen-3.0-generate-002` is `imagen-3`); any other
    name as it is."""
    return _PERF_NAMES.get(model, model)


KNOWN_MODEL_NAMES: tuple[str, ...] = (*MODELS, *sorted(set(_PERF_NAMES) - set(MODELS)))
"""Every model name the simulator knows: the Perf names, then the providers' names for them."""


def is_known_model(model: str) -> bool:
    """Whether `model` names a model some face renders, in the Perf API's words or a provider's."""
    return perf_model_name(model) in MODELS
