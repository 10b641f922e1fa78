"""Verifiable documents: the public JSON endpoint and page (the page is web/pages/verify.py
over the same lookup), masked names, revocation."""

from __future__ import annotations

from tests.core.request_helpers import SITI, api, finished_request, ok


def test_public_verification_of_a_finished_document(client, demo):
    finished = finished_request(client, demo)
    code = finished["verification_code"]
    dashed = "-".join(code[i:i + 4] for i in range(0, 12, 4))
    result = ok(client.get(api(f"/verify/{dashed.lower()}")))
    assert result["valid"] is True
    assert result["office"] == "Kelurahan Mekarjaya"
    assert result["service"] == "Surat Pengantar Akta Kelahiran"
    assert result["resident"] == "S*** A*****"
    assert result["issued_at"]
    assert "Siti" not in str(result) and "3276" not in str(result)

    page = client.get(f"/verify/{code}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "SAH" in page.text and "Kelurahan Mekarjaya" in page.text
    assert "S*** A*****" in page.text and "Siti Aminah" not in page.text

    # The envelope label carries the verification QR (operators only).
    label = client.get(api(f"/operator/requests/{finished['id']}/label.svg"),
                       headers=demo.headers("operator.mekarjaya"))
    assert label.status_code == 200 and b"<svg" in label.content
    assert client.get(api(f"/operator/requests/{finished['id']}/label.svg"),
                      headers=demo.headers("operator.abadijaya")).status_code == 404


def test_revoked_documents_show_as_invalid(client, demo):
    finished = finished_request(client, demo)
    assert client.post(api(f"/operator/requests/{finished['id']}/revoke"),
                       headers=demo.headers("operator.mekarjaya"),
                       json={"reason": "Salah ketik"}).status_code == 403
    ok(client.post(api(f"/operator/requests/{finished['id']}/revoke"),
                   headers=demo.headers("admin.mekarjaya"), json={"reason": "Salah ketik"}))
    result = ok(client.get(api(f"/verify/{finished['verification_code']}")))
    assert result["valid"] is False
    page = client.get(f"/verify/{finished['verification_code']}")
    assert "TIDAK BERLAKU" in page.text


def test_unknown_codes_are_404_and_escaped(client, demo):
    assert client.get(api("/verify/AAAA-BBBB-CCCC")).status_code == 404
    assert client.get(api("/verify/x")).status_code == 404
    page = client.get("/verify/%3Cscript%3Ealert(1)")
    assert page.status_code == 404 and "<script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "TIDAK DIKENAL" in page.text


def test_no_code_before_the_document_is_finished(client, demo):
    from tests.core.request_helpers import submitted_request

    request = submitted_request(client, demo.headers(SITI))
    assert request["verification_code"] is None
    assert client.get(api(f"/operator/requests/{request['id']}/label.svg"),
                      headers=demo.headers("operator.mekarjaya")).status_code == 404
