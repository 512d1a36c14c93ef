"""Upstream mode: the dialects in front of an EMQX 5 cluster (README, "In front of an EMQX 5 cluster").

``client`` the pooled session to EMQX's `/api/v5` (retries, circuit breaker, caches), ``control``
``UpstreamControl`` (the control interface over it), ``convert`` EMQX's objects to records,
``settings`` where each configuration field lives in EMQX, ``units`` EMQX's durations and sizes.
"""
