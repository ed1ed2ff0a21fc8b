"""Pure decisions: what to do, given what was observed.

Everything here is synchronous and deterministic: it takes models of the API
layer and plain values (the current time among them) and returns new values.
It imports neither kopf, kubernetes, httpx nor prometheus_api_client, so each
decision can be tested as a table of inputs and outputs, without a cluster
and without mocks; the clients carry the results out into the world.
"""
