"""Courier providers behind one contract.

* :mod:`providers.base` - the adapter contract (``ProviderAdapter``, ``Capabilities``,
  ``ProviderSettings``) and how to write an adapter;
* :mod:`providers.types` - value types (Money, Coordinates, Stop, Quote, Booking,
  TrackingUpdate...); :mod:`providers.status` - the normalized status vocabulary;
* :mod:`providers.errors` - the errors adapters raise; :mod:`providers.http` - the shared
  httpx transport; :mod:`providers.registry` - built-in and entry-point adapters;
* :mod:`providers.sandbox` - a simulated ride-hailing courier company (server + adapter);
* :mod:`providers.inhouse` - the office's own couriers (the one adapter living on our DB).

This package imports nothing of ours except its own contract; the in-house provider is the
one exception (it lives inside our system) and says so.
"""
