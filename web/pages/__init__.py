"""Page routers, one module per audience. Order matters only for overlapping paths."""

from web.pages import (
    admin,
    auth,
    courier,
    handover,
    operator,
    operator_delivery,
    public,
    resident,
    resident_delivery,
    rw,
    verify,
)

ROUTERS = (public.router, auth.router, resident.router, resident_delivery.router,
           operator.router,
           operator_delivery.router, rw.router, verify.router, handover.router,
           courier.router, admin.router)
