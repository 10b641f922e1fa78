def test_health(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_ready(client):
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "broker": "ok"}
