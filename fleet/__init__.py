"""The office's own couriers: staff, RW volunteers or a local ojek base working for the office.

A domain of its own, beside ``delivery``: couriers are ``User`` rows with role ``courier``,
each with a :class:`~fleet.models.CourierProfile` (on/off duty, last position). The delivery
side reaches the fleet the way it reaches any courier company, through an adapter
(``providers/inhouse``) that speaks the one provider contract; the fleet itself knows nothing
of providers or deliveries.

Flow: booking creates an :class:`~fleet.models.InhouseJob` (``searching_courier``) and offers
it to the nearest available on-duty courier of the office; the offer has an ``expires_at``.
The courier accepts or declines through ``/api/v1/courier/...`` (or the courier's pages); a
decline, or an offer left to expire (the beat task ``inhouse.sweep_offers``), goes to the next
nearest courier not yet asked. Nobody accepting before ``search_timeout_s`` ends the job as
``no_courier``. After accepting, the courier reports ``at_pickup``, ``picked_up``,
``in_transit``, ``at_dropoff`` (or ``returning`` -> ``returned``).

Every status change is stored as an event on the job and handed, in the same transaction, to
the status listener installed at start-up (:mod:`fleet.hooks`): no webhooks, no HTTP.
"""
