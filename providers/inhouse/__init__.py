"""In-house couriers: the office's own staff, RW volunteers or a local ojek base as a provider.

This is the ONE adapter that lives inside our system: it uses ``core.db``, ``core.models``,
``core.deps`` and ``core.notifications`` (the rest of ``providers/`` imports nothing of ours).
There is no external HTTP: couriers are ``User`` rows with role ``courier``, each with a
:class:`~providers.inhouse.models.CourierProfile` (on/off duty, last position).

Flow: ``book`` creates an :class:`~providers.inhouse.models.InhouseJob` (``searching_courier``)
and offers it to the nearest available on-duty courier of the office; the offer has an
``expires_at``. The courier accepts or declines through ``/api/v1/courier/...``; a decline, or
an offer left to expire (the beat task ``inhouse.sweep_offers``), goes to the next nearest
courier not yet asked. Nobody accepting before ``search_timeout_s`` ends the job as
``no_courier``. After accepting, the courier reports ``at_pickup``, ``picked_up``,
``in_transit``, ``at_dropoff`` and ``delivered`` (or ``returning`` -> ``returned``).

Every status change is stored as an event on the job (``get_status`` returns the latest) and
handed, in the same transaction, to the update sink the delivery package registers with
:func:`providers.inhouse.sink.set_update_sink` - no webhooks, no HTTP.
"""
