"""Sign-in (residents by one-time code, staff by password), registration, sign-out and the
language switch. The same ``core.accounts.service`` functions the JSON API calls."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from core.accounts import service as accounts
from core.accounts.schemas import OtpVerify, PasswordLogin, PhoneIn, ResidentRegistration
from core.deps import SESSION_COOKIE
from core.errors import Forbidden, NotFound
from core.offices import service as offices
from web.context import Page, PageDep, SignedIn, home_for
from web.forms import FormState, parse, service_call, text_values
from web.i18n import LANG_COOKIE, LANGUAGES

router = APIRouter()
# On sign-in forms a refused code or password is a message next to the field.
SIGN_IN_PASSTHROUGH = (NotFound, Forbidden)


def safe_next(value: object) -> str | None:
    """Only our own paths: never an open redirect to another site."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return None


def _sign_in(p: Page, issued: accounts.IssuedSession, next_path: str | None) -> Response:
    user = issued.session.user
    p.flash("success", "auth.signed_in", name=user.full_name)
    response = p.redirect(next_path or home_for(user))
    response.set_cookie(SESSION_COOKIE, issued.token, httponly=True, samesite="lax",
                        secure=p.secure_cookies, path="/",
                        max_age=p.settings.session_ttl_hours * 3600)
    return response


def _render_sign_in(p: Page, *, resident: FormState | None = None,
                    code: FormState | None = None, staff: FormState | None = None,
                    status_code: int = 200, notice: str | None = None) -> Response:
    failed = any(s is not None and not s.ok for s in (resident, code, staff))
    return p.render("auth/sign_in.html", status_code=422 if failed else status_code,
                    resident=resident or FormState(), code=code, staff=staff or FormState(),
                    notice=notice,
                    next=safe_next(p.request.query_params.get("next") or p.form.get("next")))


@router.get("/masuk")
def sign_in_page(p: PageDep) -> Response:
    if p.user is not None:
        return p.redirect(home_for(p.user))
    return _render_sign_in(p)


@router.post("/masuk/kode")
def request_code(p: PageDep) -> Response:
    state = FormState(values=text_values(p.form))
    data = parse(PhoneIn, state, p.t)
    if data is None:
        return _render_sign_in(p, resident=state)
    with service_call(p.db, state, p.t):
        accounts.request_otp(p.db, p.settings, phone=data.phone,
                             client_ip=p.client_ip)
    if not state.ok:
        return _render_sign_in(p, resident=state)
    return _render_sign_in(p, code=FormState(values={"phone": data.phone}))


@router.post("/masuk/verifikasi")
def verify_code(p: PageDep) -> Response:
    state = FormState(values=text_values(p.form))
    data = parse(OtpVerify, state, p.t)
    issued = None
    if data is not None:
        with service_call(p.db, state, p.t, passthrough=SIGN_IN_PASSTHROUGH):
            issued = accounts.verify_otp(
                p.db, p.settings, phone=data.phone, code=data.code,
                client_ip=p.client_ip)
    if issued is None:
        state.errors.setdefault("code", state.message or p.t("form.invalid"))
        return _render_sign_in(p, code=state)
    return _sign_in(p, issued, safe_next(p.form.get("next")))


@router.post("/masuk/staf")
def staff_sign_in(p: PageDep) -> Response:
    state = FormState(values=text_values(p.form))
    state.values.pop("password", None)  # never echo a password back into the page
    data = parse(PasswordLogin, state, p.t, password=p.form.get("password") or "")
    issued = None
    if data is not None:
        with service_call(p.db, state, p.t, passthrough=SIGN_IN_PASSTHROUGH):
            issued = accounts.password_login(
                p.db, p.settings, username=data.username, password=data.password,
                client_ip=p.client_ip)
    if issued is None:
        state.errors.setdefault("password", state.message or p.t("form.invalid"))
        return _render_sign_in(p, staff=state)
    return _sign_in(p, issued, safe_next(p.form.get("next")))


@router.post("/keluar")
def sign_out(p: SignedIn) -> Response:
    accounts.sign_out(p.db, p.auth)
    p.auth = None
    p.flash("info", "auth.signed_out")
    response = p.redirect("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/daftar")
def register_page(p: PageDep) -> Response:
    state = FormState(values={"office": p.request.query_params.get("kantor", "")})
    return p.render("auth/register.html", form=state, offices=offices.list_public(p.db))


@router.post("/daftar")
def register(p: PageDep) -> Response:
    state = FormState(values=text_values(p.form))
    data = parse(ResidentRegistration, state, p.t)
    if data is not None:
        with service_call(p.db, state, p.t):
            accounts.register_resident(
                p.db, p.settings, data,
                client_ip=p.client_ip)
    if not state.ok:
        return p.render("auth/register.html", status_code=422, form=state,
                        offices=offices.list_public(p.db))
    return _render_sign_in(p, code=FormState(values={"phone": data.phone}),
                           notice=p.t("reg.done"))


@router.get("/bahasa/{lang}")
def switch_language(lang: str, p: PageDep) -> RedirectResponse:
    response = p.redirect(safe_next(p.request.query_params.get("next")) or "/")
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax",
                            secure=p.secure_cookies, path="/")
    return response
