"""The HTTP framework every dialect is built on: the dialect base and its route table, the manners
(MaxScale conventions) around every endpoint, the OpenAPI documents, the applications and listeners.

Adapters import from here; nothing here imports an adapter (the runtime, ``gateway.runtime``, is the
one place that puts them together).
"""
