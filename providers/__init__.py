"""Courier providers behind one contract.

* :mod:`providers.base` - the adapter contract (``ProviderAdapter``, ``Capabilities``,
  ``ProviderSettings``) and how to write an adapter;
* :mod:`providers.types` - value types (Money, Coordinates, Stop, Quote, Booking,
  TrackingUpdate...); :mod:`providers.status` - the normalized status vocabulary;
* :mod:`providers.errors` - the errors adapters raise; :mod:`providers.http` - the shared
  httpx transport; :mod:`providers.registry` - built-in and entry-point adapters;
* :mod:`providers.sandbox` - a simulated ride-hailing courier company (server + adapter);
* :mod:`providers.inhouse` - the office's own couriers: a thin adapter over the fleet
  (``fleet/``), a company of its own that happens to live in our system.

This package imports nothing of ours but ``core`` and, for the in-house adapter, ``fleet``.
"""
