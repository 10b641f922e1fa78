"""The page any courier opens from the envelope's QR (no account: the token is the key):
confirm pickup at the office, enter the resident's PIN at the door, tick the originals, add
a photo. Calls ``delivery.handover.service`` like the JSON endpoints do."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from core.storage import storage_from_settings
from delivery.handover import service as handover
from web.context import Page, PageDep, PublicUploadPageDep
from web.forms import FormState, service_call, text_values

router = APIRouter()


def _page(p: Page, token: str, *, form: FormState | None = None,
          status_code: int = 200) -> Response:
    delivery = handover.by_token(p.db, token)
    return p.render("courier/handover.html", status_code=status_code, token=token,
                    v=handover.view(p.db, delivery), form=form or FormState())


@router.get("/antar/{token}")
def handover_page(token: str, p: PageDep) -> Response:
    return _page(p, token)


def _step(p: Page, token: str, action, field: str) -> Response:
    state = FormState(values=text_values(p.form))
    with service_call(p.db, state, p.t):
        action()
    if not state.ok:
        if state.message and not state.errors:
            state.add(field, state.message)
        return _page(p, token, form=state, status_code=422)
    p.flash("success", "op.done")
    return p.redirect(f"/antar/{token}#{field}")


@router.post("/antar/{token}/ambil")
def confirm_pickup(token: str, p: PageDep) -> Response:
    name = str(p.form.get("courier_name") or "").strip()
    if len(name) < 2:
        state = FormState(values=text_values(p.form))
        state.add("courier_name", p.t("form.required"))
        return _page(p, token, form=state, status_code=422)
    return _step(p, token, lambda: handover.confirm_pickup(p.db, token, name), "courier_name")


@router.post("/antar/{token}/pin")
def verify_pin(token: str, p: PageDep) -> Response:
    pin = str(p.form.get("pin") or "").strip()
    if not (len(pin) == 6 and pin.isdigit()):
        state = FormState()
        state.add("pin", p.t("handover.pin_format"))
        return _page(p, token, form=state, status_code=422)
    return _step(p, token, lambda: handover.verify_pin(p.db, token, pin), "pin")


@router.post("/antar/{token}/asli")
def collect_originals(token: str, p: PageDep) -> Response:
    checked = [v for v in p.form.getlist("checked") if isinstance(v, str)]
    return _step(p, token, lambda: handover.collect_originals(p.db, token, checked),
                 "checked")


@router.post("/antar/{token}/foto")
def add_photo(token: str, u: PublicUploadPageDep) -> Response:
    p = u.page
    state = FormState()
    if u.refused is not None:
        state.add("photo", p.t.service(u.refused.message))
    elif u.received is None or u.received.file is None:
        state.add("photo", p.t("form.upload_lost"))
    else:
        file = u.received.file
        return _step(p, token, lambda: handover.add_photo(
            p.db, storage_from_settings(p.settings), token, file), "photo")
    return _page(p, token, form=state, status_code=422)
