"""Records and the broker-control interface shared by the broker and the API dialects.

Adapters see the broker only through ``schemas.control.BrokerControl`` and the attrs records in
``schemas.records``; the broker knows nothing of HTTP. Times are epoch seconds (floats) here; each
dialect formats them its own way.
"""
