"""The authorization policy: which roles may call each route, and how its objects are scoped.

Every route of the app must have exactly one line here; ``test_matrix`` fails listing any
route that has none (and any line whose route is gone). See README.md in this folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.authz import objects as o

ANONYMOUS = "anonymous"
RESIDENT = "resident"
COURIER = "courier"
OPERATOR = "operator"
RW_ADMIN = "rw_admin"
OFFICE_ADMIN = "office_admin"
PLATFORM_ADMIN = "platform_admin"

# Who plays each role: all in Mekarjaya, the office of every "home" object.
CALLERS: dict[str, str | None] = {
    ANONYMOUS: None,
    RESIDENT: "+6281234560001",  # Siti, RW 005: owns the home objects
    COURIER: "kurir.mekarjaya",
    RW_ADMIN: "rw05.mekarjaya",
    OPERATOR: "operator.mekarjaya",
    OFFICE_ADMIN: "admin.mekarjaya",
    PLATFORM_ADMIN: "platform",
}

SIGNED_IN = frozenset(CALLERS) - {ANONYMOUS}
EVERYONE = frozenset(CALLERS)
NOBODY = frozenset()  # e.g. provider webhooks: authenticated by signature, not by a role
STAFF = frozenset({OPERATOR, OFFICE_ADMIN})
ADMINS = frozenset({OFFICE_ADMIN, PLATFORM_ADMIN})
# Roles that see only their own objects (resident), their RW's (RW admin) or their jobs
# (courier): another person's object in the same office is a 404 for them.
PERSONAL = frozenset({RESIDENT, RW_ADMIN, COURIER})


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


@dataclass(frozen=True)
class Rule:
    allow: frozenset[str]
    objects: o.ObjectMaker | None = None
    # Roles that see every office's objects; for everyone else another office's is a 404.
    across_offices: frozenset[str] = frozenset({PLATFORM_ADMIN})
    personal: frozenset[str] = PERSONAL
    json: Any = None  # a JSON body to send (else none: an allowed caller may get 422)
    form: dict[str, str] | None = None  # form fields (the anonymous CSRF token is added)
    files: o.FileMaker | None = None  # multipart files: () -> {"file": (name, bytes, type)}


POLICY: dict[str, Rule] = {
    # ops
    "GET /healthz": Rule(EVERYONE),
    "GET /readyz": Rule(EVERYONE),
    # accounts
    "POST /api/v1/auth/register": Rule(EVERYONE),
    "POST /api/v1/auth/otp": Rule(EVERYONE),
    "POST /api/v1/auth/otp/verify": Rule(EVERYONE),
    "POST /api/v1/auth/login": Rule(EVERYONE),
    "POST /api/v1/auth/logout": Rule(SIGNED_IN),
    "GET /api/v1/me": Rule(SIGNED_IN),
    "GET /api/v1/users": Rule(ADMINS),
    "POST /api/v1/users": Rule(ADMINS),
    "GET /api/v1/users/{user_id}": Rule(ADMINS, o.residents),
    "POST /api/v1/users/{user_id}/deactivate": Rule(ADMINS, o.residents),
    "POST /api/v1/users/{user_id}/activate": Rule(ADMINS, o.residents),
    # offices (public reading: every office is listed for registration)
    "GET /api/v1/offices": Rule(EVERYONE),
    "GET /api/v1/offices/{slug}": Rule(EVERYONE, o.offices, across_offices=EVERYONE),
    "POST /api/v1/offices": Rule(roles(PLATFORM_ADMIN)),
    "PATCH /api/v1/offices/{slug}": Rule(ADMINS, o.offices, json={"phone": "+622177820001"}),
    # catalog
    "GET /api/v1/offices/{slug}/services": Rule(EVERYONE, o.offices, across_offices=EVERYONE),
    "GET /api/v1/offices/{slug}/services/{code}": Rule(EVERYONE, o.office_services,
                                                       across_offices=EVERYONE),
    "GET /api/v1/catalog/services": Rule(roles(OFFICE_ADMIN)),
    "POST /api/v1/catalog/services": Rule(roles(OFFICE_ADMIN)),
    "PATCH /api/v1/catalog/services/{code}": Rule(roles(OFFICE_ADMIN), o.own_office_services),
    # document requests: residents
    "POST /api/v1/requests": Rule(roles(RESIDENT)),
    "GET /api/v1/requests": Rule(roles(RESIDENT)),
    "GET /api/v1/requests/{request_id}": Rule(roles(RESIDENT, OPERATOR, OFFICE_ADMIN),
                                              o.draft_requests),
    "GET /api/v1/requests/{request_id}/history": Rule(roles(RESIDENT, OPERATOR, OFFICE_ADMIN),
                                                      o.draft_requests),
    "PATCH /api/v1/requests/{request_id}": Rule(roles(RESIDENT), o.draft_requests,
                                                json={"fields": o.BIRTH_FIELDS}),
    "POST /api/v1/requests/{request_id}/uploads": Rule(roles(RESIDENT), o.draft_requests,
                                                       form={"requirement": "kk"},
                                                       files=o.scan_file),
    "GET /api/v1/requests/{request_id}/uploads/{upload_id}": Rule(
        roles(RESIDENT, OPERATOR, OFFICE_ADMIN), o.uploads),
    "POST /api/v1/requests/{request_id}/submit": Rule(roles(RESIDENT), o.draft_requests),
    "POST /api/v1/requests/{request_id}/cancel": Rule(roles(RESIDENT), o.draft_requests),
    "POST /api/v1/requests/{request_id}/handover": Rule(roles(RESIDENT), o.finished_requests,
                                                        json={"method": "pickup"}),
    "GET /api/v1/requests/{request_id}/pickup": Rule(roles(RESIDENT), o.pickup_requests),
    "GET /api/v1/requests/{request_id}/pickup/qr.svg": Rule(roles(RESIDENT), o.pickup_requests),
    # document requests: the office
    "GET /api/v1/operator/requests": Rule(STAFF),
    "POST /api/v1/operator/requests/{request_id}/assign": Rule(STAFF, o.submitted_requests),
    "POST /api/v1/operator/requests/{request_id}/revision": Rule(STAFF, o.submitted_requests,
                                                                 json={"note": "Foto buram"}),
    "POST /api/v1/operator/requests/{request_id}/processing": Rule(STAFF,
                                                                   o.submitted_requests),
    "POST /api/v1/operator/requests/{request_id}/reject": Rule(STAFF, o.submitted_requests,
                                                               json={"reason": "Tidak sesuai"}),
    "POST /api/v1/operator/requests/{request_id}/finish": Rule(STAFF, o.submitted_requests,
                                                               files=o.signed_pdf),
    "POST /api/v1/operator/requests/{request_id}/counter-handover": Rule(
        STAFF, o.pickup_requests, json={"pickup_code": "000000"}),
    "POST /api/v1/operator/requests/{request_id}/pickup-code/reset": Rule(
        STAFF, o.pickup_requests),
    "POST /api/v1/operator/requests/{request_id}/revoke": Rule(
        roles(OFFICE_ADMIN), o.finished_requests, json={"reason": "Salah ketik"}),
    "GET /api/v1/operator/requests/{request_id}/label.svg": Rule(STAFF, o.finished_requests),
    # RW cover letters
    "GET /api/v1/rw/cover-letters": Rule(roles(RW_ADMIN)),
    "POST /api/v1/rw/cover-letters/{request_id}/approve": Rule(
        roles(RW_ADMIN), o.cover_letter_requests, json={"number": "7/RW05/XI/2026"}),
    "POST /api/v1/rw/cover-letters/{request_id}/reject": Rule(
        roles(RW_ADMIN), o.cover_letter_requests, json={"reason": "Bukan warga RW ini"}),
    # public document verification (the unguessable code is the key)
    "GET /api/v1/verify/{code}": Rule(EVERYONE, o.verification_codes),
    "GET /verify/{code}": Rule(EVERYONE, o.verification_codes),
    # the office's couriers (fleet/endpoints.py): a courier sees only their own
    "GET /api/v1/courier/me": Rule(roles(COURIER)),
    "PUT /api/v1/courier/me/duty": Rule(roles(COURIER), json={"on_duty": True}),
    "PUT /api/v1/courier/me/position": Rule(roles(COURIER), json={"lat": -6.39, "lng": 106.84}),
    "GET /api/v1/courier/offers": Rule(roles(COURIER)),
    "POST /api/v1/courier/offers/{offer_id}/accept": Rule(roles(COURIER), o.courier_offers),
    "POST /api/v1/courier/offers/{offer_id}/decline": Rule(roles(COURIER), o.courier_offers),
    "GET /api/v1/courier/jobs": Rule(roles(COURIER)),
    "GET /api/v1/courier/jobs/{job_id}": Rule(roles(COURIER), o.courier_jobs),
    "POST /api/v1/courier/jobs/{job_id}/status": Rule(roles(COURIER), o.courier_jobs,
                                                      json={"status": "at_pickup"}),
    # deliveries: residents (delivery/quotes/endpoints.py)
    "POST /api/v1/deliveries": Rule(roles(RESIDENT)),
    "GET /api/v1/deliveries/by-request/{request_id}": Rule(roles(RESIDENT),
                                                           o.delivery_requests),
    "GET /api/v1/deliveries/{delivery_id}": Rule(roles(RESIDENT), o.delivery_ids),
    "POST /api/v1/deliveries/{delivery_id}/choose": Rule(
        roles(RESIDENT), o.delivery_ids, json={"quote_id": "00000000-0000-4000-8000-000000000000"}),
    "POST /api/v1/deliveries/{delivery_id}/quotes": Rule(roles(RESIDENT), o.delivery_ids),
    "POST /api/v1/deliveries/{delivery_id}/cancel": Rule(roles(RESIDENT), o.delivery_ids,
                                                         json={"reason": "Tidak jadi"}),
    # deliveries: the courier handover JSON (the envelope token is the key)
    "GET /api/v1/handover/{token}": Rule(EVERYONE, o.envelope_tokens),
    "POST /api/v1/handover/{token}/pickup": Rule(EVERYONE, o.envelope_tokens,
                                                 json={"courier_name": "Budi Kurir"}),
    "POST /api/v1/handover/{token}/pin": Rule(EVERYONE, o.envelope_tokens,
                                              json={"pin": "123456"}),
    "POST /api/v1/handover/{token}/originals": Rule(EVERYONE, o.envelope_tokens,
                                                    json={"checked": []}),
    "POST /api/v1/handover/{token}/photo": Rule(EVERYONE, o.envelope_tokens, files=o.scan_file),
    # deliveries: operators (delivery/operators/endpoints.py)
    "GET /api/v1/operator/deliveries": Rule(STAFF),
    "GET /api/v1/operator/deliveries/{delivery_id}": Rule(STAFF, o.delivery_ids),
    "POST /api/v1/operator/deliveries/{delivery_id}/retry": Rule(STAFF, o.delivery_ids,
                                                                 json={}),
    "POST /api/v1/operator/deliveries/{delivery_id}/cancel": Rule(
        STAFF, o.delivery_ids, json={"reason": "Salah alamat"}),
    "POST /api/v1/operator/deliveries/{delivery_id}/switch-to-pickup": Rule(STAFF,
                                                                            o.delivery_ids),
    "POST /api/v1/operator/deliveries/{delivery_id}/originals-received": Rule(
        STAFF, o.delivery_ids, json={"originals_checked": []}),
    "POST /api/v1/operator/deliveries/{delivery_id}/envelope": Rule(STAFF, o.delivery_ids),
    "POST /api/v1/operator/deliveries/{delivery_id}/reset-pin": Rule(STAFF, o.delivery_ids),
    "POST /api/v1/operator/deliveries/{delivery_id}/clear-alert": Rule(STAFF, o.delivery_ids),
    "POST /api/v1/operator/deliveries/{delivery_id}/close-without-pin": Rule(
        STAFF, o.delivery_ids, json={"reason": "Warga konfirmasi lewat telepon"}),
    "POST /api/v1/operator/deliveries/{delivery_id}/send-for-originals": Rule(
        STAFF, o.delivery_ids, json={"reason": "Kurir penyedia tidak membawa dokumen asli"}),
    "GET /api/v1/operator/summary": Rule(STAFF),
    "GET /api/v1/operator/providers": Rule(STAFF),
    "GET /api/v1/admin/delivery-policy": Rule(roles(OFFICE_ADMIN)),
    "PATCH /api/v1/admin/delivery-policy": Rule(roles(OFFICE_ADMIN), json={}),
    # provider webhooks (signed, no role) and metrics
    "POST /webhooks/{provider}": Rule(NOBODY, o.static(provider="sandbox")),
    # WhatsApp Cloud API: Meta's verify token, then signed delivery receipts
    "GET /notifications/whatsapp/webhook": Rule(NOBODY),
    "POST /notifications/whatsapp/webhook": Rule(NOBODY),
    "GET /metrics": Rule(EVERYONE),
    # web pages
    "GET /": Rule(EVERYONE),
    "GET /masuk": Rule(EVERYONE),
    "POST /masuk/kode": Rule(EVERYONE, form={"phone": "081234560001"}),
    "POST /masuk/verifikasi": Rule(EVERYONE, form={"phone": "081234560001", "code": "000000"}),
    "POST /masuk/staf": Rule(EVERYONE, form={"username": "x", "password": "y"}),
    "POST /keluar": Rule(SIGNED_IN, form={}),
    "GET /daftar": Rule(EVERYONE),
    "POST /daftar": Rule(EVERYONE, form={}),
    "GET /bahasa/{lang}": Rule(EVERYONE, o.static(lang="en")),
    "GET /verify": Rule(EVERYONE),
    # web pages: residents (web/pages/resident.py)
    "GET /layanan/{slug}": Rule(EVERYONE, o.offices, across_offices=EVERYONE),
    "GET /layanan/{slug}/{code}": Rule(EVERYONE, o.office_services, across_offices=EVERYONE),
    "GET /layanan/{slug}/{code}/ajukan": Rule(roles(RESIDENT), o.office_services),
    "POST /layanan/{slug}/{code}/ajukan": Rule(
        roles(RESIDENT), o.office_services,
        form={f"fields.{k}": v for k, v in o.BIRTH_FIELDS.items()}),
    "GET /permohonan": Rule(roles(RESIDENT)),
    "GET /permohonan/{request_id}": Rule(roles(RESIDENT), o.draft_requests),
    "POST /permohonan/{request_id}/unggah/{requirement_code}": Rule(
        roles(RESIDENT), o.with_params(o.draft_requests, requirement_code="kk"), form={},
        files=o.scan_file),
    "POST /permohonan/{request_id}/kirim": Rule(roles(RESIDENT), o.draft_requests, form={}),
    "POST /permohonan/{request_id}/batal": Rule(roles(RESIDENT), o.draft_requests, form={}),
    "POST /permohonan/{request_id}/ambil": Rule(roles(RESIDENT), o.finished_requests, form={}),
    "POST /permohonan/{request_id}/digital": Rule(roles(RESIDENT), o.finished_requests,
                                                  form={}),
    "GET /permohonan/{request_id}/berkas/{upload_id}": Rule(
        roles(RESIDENT, OPERATOR, OFFICE_ADMIN), o.uploads),
    "GET /permohonan/{request_id}/dokumen": Rule(
        roles(RESIDENT, OPERATOR, OFFICE_ADMIN), o.digital_copy_requests),
    # web pages: operators (web/pages/operator.py)
    "GET /operator": Rule(STAFF),
    "GET /operator/_ringkasan": Rule(STAFF),
    "GET /operator/permohonan": Rule(STAFF),
    "GET /operator/permohonan/{request_id}": Rule(STAFF, o.submitted_requests),
    "POST /operator/permohonan/{request_id}/tangani": Rule(STAFF, o.submitted_requests,
                                                           form={}),
    "POST /operator/permohonan/{request_id}/proses": Rule(STAFF, o.submitted_requests,
                                                          form={}),
    "POST /operator/permohonan/{request_id}/perbaikan": Rule(STAFF, o.submitted_requests,
                                                             form={"note": "Foto buram"}),
    "POST /operator/permohonan/{request_id}/tolak": Rule(STAFF, o.submitted_requests,
                                                         form={"reason": "Tidak sesuai"}),
    "POST /operator/permohonan/{request_id}/selesai": Rule(STAFF, o.submitted_requests,
                                                           form={}, files=o.signed_pdf),
    "POST /operator/permohonan/{request_id}/serahkan": Rule(STAFF, o.pickup_requests,
                                                            form={"pickup_code": "000000"}),
    "POST /operator/permohonan/{request_id}/kode-ambil-baru": Rule(STAFF, o.pickup_requests,
                                                                   form={}),
    # web pages: RW heads (web/pages/rw.py)
    "GET /rw": Rule(roles(RW_ADMIN)),
    "POST /rw/{request_id}/setujui": Rule(roles(RW_ADMIN), o.cover_letter_requests,
                                          form={"number": "7/RW05/XI/2026"}),
    "POST /rw/{request_id}/tolak": Rule(roles(RW_ADMIN), o.cover_letter_requests,
                                        form={"reason": "Bukan warga RW ini"}),
    # web pages: residents' delivery (web/pages/resident_delivery.py)
    "GET /permohonan/{request_id}/antar": Rule(roles(RESIDENT), o.finished_requests),
    "POST /permohonan/{request_id}/antar": Rule(
        roles(RESIDENT), o.finished_requests,
        form={"address": "Jl. Kenanga No. 5", "lat": "-6.3952", "lng": "106.8461"}),
    "GET /permohonan/{request_id}/antar/_penawaran": Rule(roles(RESIDENT), o.delivery_requests),
    "POST /permohonan/{request_id}/antar/pilih": Rule(roles(RESIDENT), o.delivery_requests,
                                                      form={"quote_id": "x"}),
    "POST /permohonan/{request_id}/antar/ulang": Rule(roles(RESIDENT), o.delivery_requests,
                                                      form={}),
    "GET /permohonan/{request_id}/lacak": Rule(roles(RESIDENT), o.delivery_requests),
    # web pages: the envelope's handover page, any courier (web/pages/handover.py)
    "GET /antar/{token}": Rule(EVERYONE, o.envelope_tokens),
    "POST /antar/{token}/ambil": Rule(EVERYONE, o.envelope_tokens,
                                      form={"courier_name": "Budi Kurir"}),
    "POST /antar/{token}/pin": Rule(EVERYONE, o.envelope_tokens, form={"pin": "12"}),
    "POST /antar/{token}/asli": Rule(EVERYONE, o.envelope_tokens, form={}),
    "POST /antar/{token}/foto": Rule(EVERYONE, o.envelope_tokens, form={}, files=o.scan_file),
    # web pages: operators' deliveries (web/pages/operator_delivery.py)
    "GET /operator/pengantaran": Rule(STAFF),
    "GET /operator/pengantaran/{delivery_id}": Rule(STAFF, o.delivery_ids),
    "POST /operator/pengantaran/{delivery_id}/ulang": Rule(STAFF, o.delivery_ids, form={}),
    "POST /operator/pengantaran/{delivery_id}/batal": Rule(STAFF, o.delivery_ids,
                                                           form={"reason": "Salah alamat"}),
    "POST /operator/pengantaran/{delivery_id}/ambil-di-kantor": Rule(STAFF, o.delivery_ids,
                                                                     form={}),
    "POST /operator/pengantaran/{delivery_id}/asli-diterima": Rule(STAFF, o.delivery_ids,
                                                                   form={}),
    "POST /operator/pengantaran/{delivery_id}/reset-pin": Rule(STAFF, o.delivery_ids, form={}),
    "POST /operator/pengantaran/{delivery_id}/tanpa-pin": Rule(
        STAFF, o.delivery_ids, form={"reason": "Warga konfirmasi lewat telepon"}),
    "POST /operator/pengantaran/{delivery_id}/jemput-asli": Rule(
        STAFF, o.delivery_ids, form={"reason": "Kurir penyedia tidak membawa dokumen asli"}),
    "POST /operator/pengantaran/{delivery_id}/selesai-ditangani": Rule(STAFF, o.delivery_ids,
                                                                       form={}),
    "POST /operator/pengantaran/{delivery_id}/amplop": Rule(STAFF, o.delivery_ids, form={}),
    "GET /operator/mitra": Rule(STAFF),
    "GET /operator/biaya": Rule(STAFF),
    "GET /operator/biaya.csv": Rule(STAFF),
    "GET /operator/serah-terima": Rule(STAFF),
    # web pages: in-house couriers (web/pages/courier.py)
    "GET /kurir": Rule(roles(COURIER)),
    "POST /kurir/dinas": Rule(roles(COURIER), form={"on_duty": "1"}),
    "POST /kurir/tawaran/{offer_id}/terima": Rule(roles(COURIER), o.courier_offers, form={}),
    "POST /kurir/tawaran/{offer_id}/tolak": Rule(roles(COURIER), o.courier_offers, form={}),
    "GET /kurir/tugas/{job_id}": Rule(roles(COURIER), o.courier_jobs),
    "POST /kurir/tugas/{job_id}/status": Rule(roles(COURIER), o.courier_jobs,
                                              form={"status": "at_pickup"}),
    # web pages: office and platform admins (web/pages/admin.py)
    "GET /admin/kantor-saya": Rule(roles(OFFICE_ADMIN)),
    "POST /admin/kantor-saya": Rule(roles(OFFICE_ADMIN), form={"name": "Kelurahan Mekarjaya"}),
    "GET /admin/katalog": Rule(roles(OFFICE_ADMIN)),
    "GET /admin/katalog/baru": Rule(roles(OFFICE_ADMIN)),
    "POST /admin/katalog/baru": Rule(roles(OFFICE_ADMIN), form={}),
    "GET /admin/katalog/{code}": Rule(roles(OFFICE_ADMIN), o.own_office_services),
    "POST /admin/katalog/{code}": Rule(roles(OFFICE_ADMIN), o.own_office_services,
                                       form={"name": "Surat Pengantar Akta Kelahiran"}),
    # Platform admins too: they pick the office (a new office's first admin is made here).
    "GET /admin/staf": Rule(ADMINS),
    "POST /admin/staf": Rule(ADMINS, form={}),
    "POST /admin/staf/{user_id}/aktif": Rule(ADMINS, o.staff_users, form={"active": "1"}),
    "GET /admin/pengantaran": Rule(roles(OFFICE_ADMIN)),
    "POST /admin/pengantaran": Rule(roles(OFFICE_ADMIN), form={"choice_policy": "resident"}),
    "GET /admin/kantor": Rule(roles(PLATFORM_ADMIN)),
    "POST /admin/kantor": Rule(roles(PLATFORM_ADMIN), form={}),
}
