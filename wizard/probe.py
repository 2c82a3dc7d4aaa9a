"""mi-wizard probe: read a Key Vault secret as a managed identity; print a JSON verdict, never the value.
Args: VAULT SECRET [CLIENT_ID] [API_VERSION] [RESOURCE] [WAIT_S] [TRIES]: see probe_command"""
import json, os, sys, time, urllib.error as E, urllib.parse as P, urllib.request as R


def _get(url, h):
    with R.urlopen(R.Request(url, headers=h), timeout=20) as r:
        return r.status, json.loads(r.read())


def _once(vault, name, cid, ver, res, o):
    # One try; when transient (429, 5xx, dropped): the seconds to wait
    q = {"api-version": "2018-02-01", "resource": res, **({"client_id": cid} if cid else {})}
    imds = os.environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST") or "http://169.254.169.254"
    o.update(ok=False, stage="imds", status=0, code=None, message="", transient=False)
    try:
        _, t = _get(imds.rstrip("/") + "/metadata/identity/oauth2/token?" + P.urlencode(q), {"Metadata": "true"})
        o["client_id"], o["stage"] = t.get("client_id") or o["client_id"], "vault"
        o["status"], s = _get(f"{vault}/secrets/{P.quote(name)}/?api-version={ver}",
                              {"Authorization": "Bearer " + t["access_token"]})
        o["ok"], o["version"] = True, s.get("id", "").rstrip("/").rsplit("/", 1)[-1] or None
    except E.HTTPError as e:
        try:
            b = json.loads(e.read() or b"{}")
        except ValueError:
            b = {}
        x, o["status"] = b.get("error"), e.code
        if isinstance(x, dict):  # Key Vault (IMDS: a string)
            o["code"], m = (x.get("innererror") or {}).get("code") or x.get("code"), x.get("message", "")
        else:
            o["code"], m = x or "HttpError", b.get("error_description", str(e))
        o["message"] = (str(m).splitlines() or [""])[0][:300]
        if e.code == 429 or e.code >= 500:
            o["transient"], ra = True, e.headers.get("Retry-After") or "0"
            return float(ra) if ra.isdigit() else 0
    except Exception as e:  # unreachable, dropped, TLS
        o["code"], o["message"], o["transient"] = type(e).__name__, str(e)[:300], True
        return 0
    return None


def main(a):
    a += [""] * 7
    cid = a[2] or os.environ.get("AZURE_CLIENT_ID", "")
    o = {"ok": False, "version": None, "client_id": cid or None, "attempts": 0}
    t0, pause, tries = time.monotonic(), 0.5, 0
    while True:
        after = _once(a[0].rstrip("/"), a[1], cid, a[3] or "2026-04-01", a[4] or "https://vault.azure.net", o)
        o["attempts"] += 1
        if o["ok"]:
            break
        if after is not None and tries < int(a[6] or 6):  # transient: a few tries, then "could not check"
            tries += 1
            time.sleep(min(max(after, pause), 10))
            pause = min(pause * 2, 8)
        elif after is None and o["code"] in ("ForbiddenByRbac", "AccessDenied", "Forbidden") and \
                time.monotonic() - t0 < float(a[5] or 0):  # not yet effective
            time.sleep(2)
        else:
            break
    o["waited_s"] = round(time.monotonic() - t0, 1)
    print(json.dumps(o), flush=True)
    return 0 if o["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if len(sys.argv) > 2 else 2)
# -- end of the probe script --------------------
_MARKER = "# -- end of the probe script " + "-" * 20
# What follows runs in mi-wizard, not in the target: how to build the probe's command and read its verdict.
# It is typed; the script above is not (annotations would grow it past what a command line carries): the
# module's mypy override in pyproject.toml lets its functions be untyped, and no more.
from typing import Any  # noqa: E402 - after the script, which must stay small


def probe_source() -> str:
    """The exact script text a container runs: this file up to the marker (the helpers below stay home)."""
    with open(__file__, encoding="utf-8") as f:
        return f.read().split(_MARKER, 1)[0]


def probe_command(vault_url: str, secret_name: str, client_id: str | None = None, python: str = "python3",
                  wait_s: float = 0.0) -> list[str]:
    """A container command running the probe inline (the image needs python3).

    wait_s: a grant is known to exist, so a refusal means "not yet" (propagation): keep trying that long inside
    one container. TRIES (default 6): transient failures (429, 5xx, dropped, IMDS not ready) retried with
    capped backoff before the verdict says "transient" (could not check now, never "broken")."""
    args = [vault_url, secret_name, client_id or ""]
    if wait_s:
        args += ["", "", f"{wait_s:g}"]
    while args and not args[-1]:
        args.pop()
    return [python, "-c", probe_source()] + args


def parse_verdict(log_text: str | None) -> dict[str, Any] | None:
    """The last verdict line in a container's log, or None."""
    for line in reversed((log_text or "").splitlines()):
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if isinstance(v, dict) and "ok" in v and "stage" in v:
            return v
    return None
