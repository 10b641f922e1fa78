"""The office's own couriers as a provider: a thin adapter over the fleet (``fleet/``).

The fleet is a company of its own inside our system (couriers, jobs, offers, the courier's
app); this adapter speaks the one provider contract to it, as the HTTP adapters speak it to
GoSend or Lalamove: calls instead of requests (``adapter.py``), and a pure mapping of the
fleet's answers onto the contract's types (``mapping.py``). Status changes come as the fleet's
job updates, handed over in the courier's own transaction (``mapping.to_update`` turns each
into a ``TrackingUpdate``; ``sipoke.wiring`` connects them): no webhooks, no HTTP.
"""
