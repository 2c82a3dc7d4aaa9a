"""mi-wizard probe: read a Key Vault secret as a managed identity, print a JSON verdict (never the value).
Args: VAULT_URL SECRET [CLIENT_ID] [API_VERSION] [RESOURCE]. Stdlib only: it travels inline in a command."""
import json, os, sys, urllib.error as E, urllib.parse as P, urllib.request as R


def _err(e):
    try:
        b = json.loads(e.read() or b"{}")
    except ValueError:
        b = {}
    x = b.get("error")
    if isinstance(x, dict):  # Key Vault
        return (x.get("innererror") or {}).get("code") or x.get("code"), x.get("message", "")
    return x or "HttpError", b.get("error_description", str(e))  # IMDS


def _get(url, headers):
    with R.urlopen(R.Request(url, headers=headers), timeout=20) as r:
        return r.status, json.loads(r.read())


def main(a):
    vault, name = a[0].rstrip("/"), a[1]
    cid = (a[2] if len(a) > 2 else "") or os.environ.get("AZURE_CLIENT_ID", "")
    ver = a[3] if len(a) > 3 and a[3] else "2026-04-01"
    res = a[4] if len(a) > 4 and a[4] else "https://vault.azure.net"
    out = {"ok": False, "stage": "imds", "status": 0, "code": None, "message": "", "version": None, "client_id": cid or None}
    q = {"api-version": "2018-02-01", "resource": res}
    if cid:
        q["client_id"] = cid
    base = os.environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST") or "http://169.254.169.254"
    try:
        _, t = _get(base.rstrip("/") + "/metadata/identity/oauth2/token?" + P.urlencode(q), {"Metadata": "true"})
        out["client_id"] = t.get("client_id") or out["client_id"]
        out["stage"] = "vault"
        url = f"{vault}/secrets/{P.quote(name)}/?api-version={ver}"
        out["status"], s = _get(url, {"Authorization": "Bearer " + t["access_token"]})
        out["ok"], out["version"] = True, s.get("id", "").rstrip("/").rsplit("/", 1)[-1] or None
    except E.HTTPError as e:
        out["status"] = e.code
        out["code"], m = _err(e)
        out["message"] = (str(m).splitlines() or [""])[0][:300]
    except Exception as e:  # unreachable, TLS, bad JSON: report, never crash
        out["code"], out["message"] = type(e).__name__, str(e)[:300]
    print(json.dumps(out), flush=True)
    return 0 if out["ok"] else 1


def probe_source():
    """The exact script text a container runs."""
    with open(__file__, encoding="utf-8") as f:
        return f.read()


def probe_command(vault_url, secret_name, client_id=None, python="python3"):
    """A container command running the probe inline (the image needs python3)."""
    return [python, "-c", probe_source(), vault_url, secret_name] + ([client_id] if client_id else [])


def parse_verdict(log_text):
    """The last verdict line in a container's log, or None."""
    for line in reversed((log_text or "").splitlines()):
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if isinstance(v, dict) and "ok" in v and "stage" in v:
            return v
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if len(sys.argv) > 2 else 2)
