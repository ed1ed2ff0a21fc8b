"""The only I/O: adapters to Kubernetes, Prometheus and notification receivers.

Each client speaks one foreign protocol and hands the rest of the operator
our own vocabulary: models of the API layer in, plain results out, and the
exceptions of ``kubemedic.errors`` instead of a library's. The domain decides,
the handlers orchestrate, and nothing else opens a connection.
"""
