"""The sandbox provider: a simulated ride-hailing courier company, spoken to over real HTTP.

Run it with ``sipoke sandbox-provider [--host 127.0.0.1 --port 8100]`` (``make run`` starts
it). State is in memory, guarded by a lock: restarting the simulator forgets every order,
which is fine for a simulator and nothing else.

Wire protocol (what :mod:`providers.sandbox.adapter` speaks)
-----------------------------------------------------------
Auth: ``Authorization: Bearer <api_key>`` on every ``/v1`` call. Errors are
``{"error": {"code": ..., "message": ...}}``: ``UNAUTHORIZED`` 401, ``VALIDATION`` 422,
``OUT_OF_SERVICE_AREA`` 422, ``QUOTE_EXPIRED`` 422, ``ORDER_NOT_FOUND`` 404,
``CANCEL_FORBIDDEN`` 409, ``RATE_LIMITED`` 429 (+ ``Retry-After``), ``UNAVAILABLE`` 503.

* ``POST /v1/quotes`` ``{pickup: {lat, lng, address}, dropoff: {...}, vehicle}`` -> 201
  ``{quote_id, price: {amount, currency}, distance_m, vehicle, expires_at, pickup_eta_s,
  dropoff_eta_s}``; priced by haversine distance.
* ``POST /v1/orders`` ``{quote_id, client_reference, pickup: {name, phone, address, lat, lng,
  note}, dropoff: {...}, item: {description, weight_g}}`` -> 201 a new order, or 200 the
  order already made for that ``client_reference`` (never a second one).
* ``GET /v1/orders/{order_id}``; ``GET /v1/orders?client_reference=...`` -> ``{orders: [...]}``.
* ``POST /v1/orders/{order_id}/cancel`` ``{reason}`` -> the order; 409 after pickup.
* Order: ``{order_id, client_reference, status, price, distance_m, tracking_url, courier:
  {name, phone, plate, photo_url} | null, position: {lat, lng} | null, proof_urls,
  failure_reason, created_at, updated_at}``.
* Raw statuses: ``CREATED, ALLOCATING, ASSIGNED`` (riding to the pickup), ``AT_PICKUP,
  PICKED_UP, ON_DELIVERY, AT_DROPOFF, COMPLETED``; off the happy path ``NO_DRIVER,
  CANCELLED, RETURNING, RETURNED``.

Webhooks: ``POST`` to the configured URL (default ``{SIPOKE_BASE_URL}/webhooks/sandbox``),
body ``{event_id, type: "order.status" | "order.location", occurred_at, order: {...}}``,
headers ``X-Sandbox-Timestamp`` (Unix seconds) and ``X-Sandbox-Signature: v1=<hex>`` where
hex = HMAC-SHA256(webhook_secret, "<timestamp>." + raw body). Non-2xx answers and errors
are retried with exponential backoff up to ``webhook_max_attempts``.

Failure switches (at start-up as CLI flags / ``SIPOKE_PROVIDERS__SANDBOX__<SWITCH>``, at run
time with ``PATCH /v1/admin/switches``): ``latency_ms`` (plus a random
``latency_jitter_ms``), ``error_rate`` (503),
``rate_limit_rate`` (429 with ``Retry-After: retry_after_s``), ``hang_after_accept_rate``
(the order is created, the answer comes after ``hang_seconds``), ``no_courier_rate``,
``duplicate_webhooks``, ``out_of_order_webhooks``, ``failed_dropoff_rate`` (recipient
absent -> ``RETURNING`` -> ``RETURNED``). ``time_scale`` speeds the simulated clock up.

Records (admin): ``GET /v1/admin/orders`` lists every order created (id, client reference,
status); ``GET /v1/admin/webhooks`` every webhook queued, with ``delivered`` (answered 2xx)
and ``last_status``.
"""
