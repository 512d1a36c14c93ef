"""Upstream mode: the control interface over an EMQX 5 cluster's `/api/v5` (README, "In front of an EMQX 5
cluster"). It sits with the adapters because it is a translator too, to and from EMQX 5's API, reading
EMQX's field names from the same crosswalk (``adapters.common.fields``) the `/api/v5` dialect renders with.

``client`` the pooled session to EMQX's `/api/v5` (retries, circuit breaker, caches), ``control``
``UpstreamControl`` (the control interface over it), ``convert`` EMQX's objects to records,
``settings`` where each configuration field lives in EMQX and in which of the value formats
the dialects share (``adapters.common.units``).
The process shell builds it (``gateway.runtime``) and hands it its key pair (``gateway.upstream_credentials``).
"""
