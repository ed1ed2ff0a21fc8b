"""kubemedic: a Kubernetes operator that turns failures into incidents and heals them.

The package is layered, lowest first:

- ``api``: pydantic models of the custom resources and the CRD generator;
- ``domain``: pure decisions (matching, fingerprints, the incident state
  machine, evaluation, planning and the safety rails), time passed in;
- ``clients``: the only code that talks to Kubernetes, Prometheus and
  notification receivers; foreign exceptions are translated there;
- ``handlers``: kopf registrations that glue the three together.
"""

__version__ = "0.1.0"
GROUP = "kubemedic.io"
VERSION = "v1alpha1"
