"""The custom resources of kubemedic, as pydantic models, and their CRDs.

This layer does no I/O: it describes the API. ``policies`` and ``incidents``
hold one module per kind; ``crds`` generates the CustomResourceDefinitions
from the models, so the two never disagree.
"""
