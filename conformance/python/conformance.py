#!/usr/bin/env python3
"""simple-salesforce against a live sfemu: every call a sync engine makes.

Run by conformance/run.sh, which starts `sfemu --tls --cert-out PEM` and passes
the base URL, the PEM and a JWT signing key. simple-salesforce builds every URL
as ``https://…``, so the emulator is reached over TLS and trusted through a
``requests.Session`` whose ``verify`` is the emulator's certificate.

Aiming simple-salesforce's own login code at the emulator (read from its
login.py, version pinned in requirements.txt): every login URL is formatted as
``https://{domain}.salesforce.com/<path>``. Passing
``domain="127.0.0.1:PORT/<path>?sfemu="`` turns that into
``https://127.0.0.1:PORT/<path>?sfemu=.salesforce.com/<path>``: the request goes
to the emulator's real endpoint and the tail becomes an ignored query
parameter. For the JWT flow the token URL comes from ``instance_url`` and the
``aud`` claim from ``domain``, so ``domain`` stays ``login`` (aud =
``https://login.salesforce.com``) and ``instance_url`` carries the trick. The
SOAP login is also exercised through ``SalesforceLogin(scratch_url=…)``, the
library's documented way to name a SOAP host. simple-salesforce has no
refresh-token helper: that grant is posted with ``requests`` and the token
handed to ``Salesforce(session_id=…, instance_url=…)``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import urlparse

import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Skip, check, expect, expect_eq, main_exit, run_all, short  # noqa: E402

VERSION = "59.0"  # simple-salesforce 1.12.10's default API version
EXT = "OrgSync_Global_Id__c"
PAGE_ROWS = 5100  # > 5,000 so that paging needs three batches of at most 2,000


# ---------------------------------------------------------------- helpers

def http(ctx: Dict[str, Any]) -> requests.Session:
    """A requests session that trusts the emulator's certificate."""
    s = requests.Session()
    s.verify = ctx["ca"]
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override
    # Session.verify (requests issue #3829); CI machines set them, so ignore the environment.
    s.trust_env = False
    return s


def trick_domain(ctx: Dict[str, Any], path: str) -> str:
    """A `domain` that makes https://{domain}.salesforce.com/... hit `path` on the emulator."""
    return f"{ctx['hostport']}{path}?sfemu="


def raw_token(ctx: Dict[str, Any], **fields: str) -> requests.Response:
    """POST the token endpoint directly (for grants simple-salesforce has no helper for)."""
    return http(ctx).post(f"{ctx['base']}/services/oauth2/token", data=fields, timeout=30)


def password_token(ctx: Dict[str, Any]) -> Dict[str, Any]:
    resp = raw_token(
        ctx,
        grant_type="password",
        client_id=ctx["client_id"],
        client_secret=ctx["client_secret"],
        username=ctx["username"],
        password=ctx["password"],
    )
    expect_eq(resp.status_code, 200, f"password grant status (body {short(resp.text)})")
    return resp.json()


def control(ctx: Dict[str, Any], method: str, path: str, body: Any = None) -> requests.Response:
    """Call the emulator's /__sfemu control surface (not a Salesforce API)."""
    return http(ctx).request(method, f"{ctx['base']}/__sfemu{path}", json=body, timeout=30)


def direct(ctx: Dict[str, Any], token: str) -> Salesforce:
    """A simple-salesforce client built from a token, the way orgsync-like tools do."""
    return Salesforce(
        instance_url=ctx["base"], session_id=token, session=http(ctx), version=VERSION
    )


def sf(ctx: Dict[str, Any]) -> Salesforce:
    """The main client (password grant); created by the first auth check."""
    if "sf" not in ctx:
        raise Skip("no client: the password-grant check failed")
    return ctx["sf"]


def err_code(exc: Exception) -> Any:
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode")
    return None


def collections(client: Salesforce, method: str, path: str, body: Any) -> List[Dict[str, Any]]:
    result = client.restful(path, method=method, data=json.dumps(body))
    expect(isinstance(result, list), f"collections answer is a list: {short(result)}")
    return result


def insert_many(client: Salesforce, records: List[Dict[str, Any]]) -> List[str]:
    """Insert through sObject Collections, 200 per call, all-or-none per call."""
    ids: List[str] = []
    for start in range(0, len(records), 200):
        chunk = records[start : start + 200]
        res = collections(client, "POST", "composite/sobjects", {"allOrNone": True, "records": chunk})
        bad = [r for r in res if not r.get("success")]
        expect(not bad, f"collections insert failures: {short(bad)}")
        ids.extend(r["id"] for r in res)
    return ids


def soql_dt(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- auth

@check("tls.certificate_is_verified")
def _(ctx):
    ok = http(ctx).get(f"{ctx['base']}/services/data/", timeout=30)
    expect_eq(ok.status_code, 200, "GET /services/data/ with the emulator's PEM trusted")
    try:
        requests.get(f"{ctx['base']}/services/data/", timeout=30)  # system trust store only
    except requests.exceptions.SSLError:
        return
    raise AssertionError("a client without the emulator's PEM connected: TLS is not verified")


@check("rest.versions")
def _(ctx):
    resp = http(ctx).get(f"{ctx['base']}/services/data/", timeout=30)
    versions = resp.json()
    expect(isinstance(versions, list) and versions, f"version list: {short(versions)}")
    nums = [float(v["version"]) for v in versions]
    expect_eq(nums, sorted(nums), "versions ascending")
    entry = next((v for v in versions if v["version"] == VERSION), None)
    expect(entry is not None, f"{VERSION} is served")
    expect_eq(entry["url"], f"/services/data/v{VERSION}", "version url")
    expect("Sforce-Limit-Info" not in resp.headers, "no Sforce-Limit-Info on the version list")


@check("auth.password_grant")
def _(ctx):
    client = Salesforce(
        username=ctx["username"],
        password=ctx["password"],
        consumer_key=ctx["client_id"],
        consumer_secret=ctx["client_secret"],
        domain=trick_domain(ctx, "/services/oauth2/token"),
        session=http(ctx),
        version=VERSION,
    )
    expect(bool(client.session_id), "access token")
    expect_eq(client.sf_instance, ctx["hostport"], "instance taken from instance_url")
    expect(client.describe() is not None, "describe with the new token")
    ctx["sf"] = client


@check("auth.password_grant_wrong_password")
def _(ctx):
    try:
        Salesforce(
            username=ctx["username"],
            password="wrong-" + ctx["password"],
            consumer_key=ctx["client_id"],
            consumer_secret=ctx["client_secret"],
            domain=trick_domain(ctx, "/services/oauth2/token"),
            session=http(ctx),
        )
    except SalesforceAuthenticationFailed as exc:
        expect_eq(exc.code, "invalid_grant", "error")
        expect_eq(exc.auth_message, "authentication failure", "error_description")
        return
    raise AssertionError("a wrong password was accepted")


@check("auth.client_credentials")
def _(ctx):
    client = Salesforce(
        consumer_key=ctx["client_id"],
        consumer_secret=ctx["client_secret"],
        domain=trick_domain(ctx, "/services/oauth2/token"),
        session=http(ctx),
        version=VERSION,
    )
    expect_eq(client.auth_type, "client-credentials", "flow simple-salesforce chose")
    res = client.query("SELECT Id FROM User LIMIT 1")
    expect(res["totalSize"] >= 1, f"query with a client_credentials token: {short(res)}")


@check("auth.jwt_bearer")
def _(ctx):
    if not ctx.get("jwt_key"):
        raise AssertionError("no --jwt-key given (run.sh generates one)")
    client = Salesforce(
        username=ctx["username"],
        consumer_key=ctx["jwt_client_id"],
        privatekey_file=ctx["jwt_key"],
        instance_url=trick_domain(ctx, "/services/oauth2/token"),
        domain="login",  # aud = https://login.salesforce.com
        session=http(ctx),
        version=VERSION,
    )
    expect_eq(client.auth_type, "jwt-bearer", "flow simple-salesforce chose")
    res = client.query("SELECT Id, Username FROM User WHERE Username = '%s'" % ctx["username"])
    expect_eq(res["totalSize"], 1, "the JWT subject's user is visible")


@check("auth.jwt_bearer_unknown_key_refused")
def _(ctx):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    try:
        Salesforce(
            username=ctx["username"],
            consumer_key=ctx["jwt_client_id"],
            privatekey=pem,
            instance_url=trick_domain(ctx, "/services/oauth2/token"),
            domain="login",
            session=http(ctx),
        )
    except SalesforceAuthenticationFailed as exc:
        expect_eq(exc.code, "invalid_grant", "error for a JWT signed by a key the app doesn't know")
        return
    raise AssertionError("a JWT signed by an unknown key was accepted")


@check("auth.refresh_token")
def _(ctx):
    tok = password_token(ctx)
    refresh = tok.get("refresh_token") or ctx.get("refresh_token")
    if not refresh:
        raise AssertionError(
            f"no refresh_token from the password grant (keys: {sorted(tok)}); nothing to refresh"
        )
    resp = raw_token(
        ctx,
        grant_type="refresh_token",
        refresh_token=refresh,
        client_id=ctx["client_id"],
        client_secret=ctx["client_secret"],
    )
    expect_eq(resp.status_code, 200, f"refresh grant status ({short(resp.text)})")
    body = resp.json()
    for key in ("access_token", "instance_url", "id", "token_type", "issued_at", "signature"):
        expect(key in body, f"refresh answer has {key}: {short(body)}")
    expect("refresh_token" not in body, "a refresh answer carries no new refresh_token")
    client = direct(ctx, body["access_token"])
    expect(client.describe() is not None, "describe with the refreshed token")
    ctx["refresh_token"] = refresh


@check("auth.token_response_shape")
def _(ctx):
    body = password_token(ctx)
    expect_eq(body.get("token_type"), "Bearer", "token_type")
    expect_eq(body.get("instance_url"), ctx["base"], "instance_url")
    expect(str(body.get("issued_at", "")).isdigit(), f"issued_at is epoch ms as a string: {short(body)}")
    ident = urlparse(body["id"]).path.split("/")
    expect(len(ident) >= 4 and ident[-3] == "id", f"id URL /id/<org>/<user>: {body['id']}")
    expect(ident[-2].startswith("00D") and ident[-1].startswith("005"), f"org and user ids: {body['id']}")


@check("auth.soap_login")
def _(ctx):
    client = Salesforce(
        username=ctx["username"],
        password=ctx["password"],
        security_token="",
        domain=trick_domain(ctx, f"/services/Soap/u/{VERSION}"),
        session=http(ctx),
        version=VERSION,
    )
    expect_eq(client.sf_instance, ctx["hostport"], "instance taken from serverUrl")
    res = client.query("SELECT COUNT() FROM Account")
    expect("totalSize" in res, "query with a SOAP session id")
    ctx["sf_soap"] = client


@check("auth.soap_login_scratch_url")
def _(ctx):
    session_id, instance = SalesforceLogin(
        username=ctx["username"],
        password=ctx["password"],
        security_token="",
        sf_version=VERSION,
        scratch_url=ctx["base"],
        session=http(ctx),
    )
    expect_eq(instance, ctx["hostport"], "instance")
    client = Salesforce(instance=instance, session_id=session_id, session=http(ctx), version=VERSION)
    expect(client.describe() is not None, "describe with the SOAP session id")


@check("auth.soap_login_wrong_password")
def _(ctx):
    try:
        SalesforceLogin(
            username=ctx["username"],
            password="wrong",
            security_token="",
            sf_version=VERSION,
            scratch_url=ctx["base"],
            session=http(ctx),
        )
    except SalesforceAuthenticationFailed as exc:
        expect_eq(exc.code, "INVALID_LOGIN", "sf:exceptionCode")
        expect(
            "Invalid username, password, security token; or user locked out." in exc.auth_message,
            f"sf:exceptionMessage: {exc.auth_message!r}",
        )
        return
    raise AssertionError("a wrong SOAP password was accepted")


TOKEN_USER, TOKEN_PASSWORD, SECURITY_TOKEN = "token@sfemu.test", "p&ss<w>\"'d", "TOKEN123"


@check("auth.security_token_and_xml_escaping")
def _(ctx):
    client = Salesforce(
        username=TOKEN_USER, password=TOKEN_PASSWORD, security_token=SECURITY_TOKEN,
        domain=trick_domain(ctx, f"/services/Soap/u/{VERSION}"), session=http(ctx), version=VERSION,
    )
    res = client.query(f"SELECT Username FROM User WHERE Username = '{TOKEN_USER}'")
    expect_eq(res["totalSize"], 1, "SOAP login (escaped password + token) as the token user")
    oauth = Salesforce(
        username=TOKEN_USER, password=TOKEN_PASSWORD + SECURITY_TOKEN,
        consumer_key=ctx["client_id"], consumer_secret=ctx["client_secret"],
        domain=trick_domain(ctx, "/services/oauth2/token"), session=http(ctx), version=VERSION,
    )
    expect(oauth.describe() is not None, "OAuth2 password grant with password + token")


@check("auth.security_token_required")
def _(ctx):
    # Salesforce (no trusted IP ranges, the default) refuses an API login from an untrusted
    # address without the user's security token.
    refused = []
    try:
        SalesforceLogin(username=TOKEN_USER, password=TOKEN_PASSWORD, security_token="", sf_version=VERSION,
                        scratch_url=ctx["base"], session=http(ctx))
    except SalesforceAuthenticationFailed as exc:
        expect_eq(exc.code, "INVALID_LOGIN", "SOAP error without the token")
        refused.append("soap")
    resp = raw_token(ctx, grant_type="password", client_id=ctx["client_id"], client_secret=ctx["client_secret"],
                     username=TOKEN_USER, password=TOKEN_PASSWORD)
    if resp.status_code == 400:
        expect_eq(resp.json().get("error"), "invalid_grant", "OAuth error without the token")
        refused.append("oauth")
    expect_eq(refused, ["soap", "oauth"], "logins refused without the security token")


@check("auth.soap_login_result_order")
def _(ctx):
    # Salesforce's own Pub/Sub samples read loginResponse/result children by position.
    import xml.etree.ElementTree as ET

    body = (
        '<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">'
        f'<n1:username>{ctx["username"]}</n1:username><n1:password>{ctx["password"]}</n1:password>'
        "</n1:login></env:Body></env:Envelope>"
    )
    resp = http(ctx).post(f"{ctx['base']}/services/Soap/u/{VERSION}", data=body,
                          headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"}, timeout=30)
    expect_eq(resp.status_code, 200, "status")
    ns = "{urn:partner.soap.sforce.com}"
    result = ET.fromstring(resp.content).find(f".//{ns}loginResponse/{ns}result")
    expect(result is not None, f"loginResponse/result: {short(resp.text)}")
    names = [c.tag.replace(ns, "") for c in result]
    expect_eq(names, ["metadataServerUrl", "passwordExpired", "sandbox", "serverUrl", "sessionId", "userId", "userInfo"],
              "result children")
    org15 = result[6][8].text[:15]  # Salesforce's serverUrl carries the 15-character org id
    expect_eq(result[3].text, f"{ctx['base']}/services/Soap/u/{VERSION}/{org15}", "serverUrl")
    expect_eq(result[6][8].tag.replace(ns, ""), "organizationId", "userInfo child 8")
    expect(result[6][8].text.startswith("00D"), "organizationId value")


@check("auth.userinfo")
def _(ctx):
    info = sf(ctx).oauth2("userinfo")
    expect(isinstance(info, dict), f"userinfo JSON: {short(info)}")
    expect_eq(info.get("preferred_username"), ctx["username"], "preferred_username")
    expect(str(info.get("user_id", "")).startswith("005"), f"user_id: {short(info)}")
    expect(str(info.get("organization_id", "")).startswith("00D"), f"organization_id: {short(info)}")


# ---------------------------------------------------------------- describe, limits

@check("describe.global")
def _(ctx):
    res = sf(ctx).describe()
    expect_eq(res.get("encoding"), "UTF-8", "encoding")
    expect_eq(res.get("maxBatchSize"), 200, "maxBatchSize")
    by_name = {o["name"]: o for o in res["sobjects"]}
    for name, prefix in (("Account", "001"), ("Contact", "003"), ("User", "005")):
        expect(name in by_name, f"{name} in describeGlobal")
        expect_eq(by_name[name].get("keyPrefix"), prefix, f"{name}.keyPrefix")
    acct = by_name["Account"]
    for flag in ("queryable", "createable", "updateable", "deletable", "retrieveable"):
        expect_eq(acct.get(flag), True, f"Account.{flag}")
    expect_eq(acct["urls"].get("describe"), f"/services/data/v{VERSION}/sobjects/Account/describe", "urls.describe")


@check("describe.object")
def _(ctx):
    acct = sf(ctx).Account.describe()
    expect_eq(acct["name"], "Account", "name")
    fields = {f["name"]: f for f in acct["fields"]}
    expect_eq(fields["Id"]["type"], "id", "Id.type")
    expect_eq(fields["Id"]["length"], 18, "Id.length")
    expect_eq(fields["Name"]["type"], "string", "Name.type")
    expect_eq(fields["Name"]["nillable"], False, "Name.nillable")
    ext = fields.get(EXT)
    expect(ext is not None, f"{EXT} on Account")
    expect_eq((ext["externalId"], ext["unique"], ext["custom"]), (True, True, True), f"{EXT} flags")
    expect_eq(fields["SystemModstamp"]["type"], "datetime", "SystemModstamp.type")
    rels = {(r["childSObject"], r["field"]): r for r in acct["childRelationships"]}
    expect(("Contact", "AccountId") in rels, "Contact.AccountId child relationship")
    expect_eq(rels[("Contact", "AccountId")]["relationshipName"], "Contacts", "relationshipName")
    contact = {f["name"]: f for f in sf(ctx).Contact.describe()["fields"]}
    expect_eq(contact["AccountId"]["type"], "reference", "Contact.AccountId.type")
    expect_eq(contact["AccountId"]["referenceTo"], ["Account"], "referenceTo")
    expect_eq(contact["AccountId"]["relationshipName"], "Account", "relationshipName")


@check("describe.sobject_basic_info")
def _(ctx):
    meta = sf(ctx).Account.metadata()
    expect_eq(meta["objectDescribe"]["name"], "Account", "objectDescribe.name")
    expect(isinstance(meta.get("recentItems"), list), "recentItems list")


@check("describe.is_sandbox_organization")
def _(ctx):
    # simple-salesforce's built-in: SELECT IsSandbox FROM Organization LIMIT 1
    expect_eq(sf(ctx).is_sandbox(), False, "is_sandbox()")


@check("limits.resource")
def _(ctx):
    lim = sf(ctx).limits()
    daily = lim.get("DailyApiRequests")
    expect(isinstance(daily, dict), f"DailyApiRequests: {short(lim)}")
    expect(isinstance(daily["Max"], int) and isinstance(daily["Remaining"], int), "Max/Remaining ints")
    expect(0 <= daily["Remaining"] <= daily["Max"], f"Remaining within Max: {daily}")


@check("limits.sforce_limit_info")
def _(ctx):
    client = sf(ctx)
    client.describe()
    first = client.api_usage.get("api-usage")
    expect(first is not None, "api_usage parsed from Sforce-Limit-Info")
    usage = control(ctx, "GET", "/api-usage").json()
    expect_eq(first.total, usage["max"], "header max = emulator max")
    expect_eq(first.used, usage["total"], "header used = calls counted so far")
    client.Account.describe()  # SFType keeps its own api_usage
    client.describe()
    second = client.api_usage["api-usage"]
    expect_eq(second.used, first.used + 2, "each REST call counts one")
    collections(client, "POST", "composite/sobjects", {"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Name": f"{ctx['run']} limits {i}"} for i in range(3)
    ]})
    third = client.api_usage["api-usage"]
    expect_eq(third.used, second.used + 1, "a collections call counts one")


@check("transport.keep_alive_survives_early_errors")
def _(ctx):
    # requests reuses pooled connections and never retries a POST. If the server answers before
    # reading the request body and then closes the connection, the NEXT call fails with
    # ConnectionError. Salesforce keeps the connection; so must the emulator.
    client = sf(ctx)
    # Same requests.Session (same pooled connection) as `client`, with a token that is refused.
    bad = Salesforce(instance_url=ctx["base"], session_id="bad-token", session=client.session, version=VERSION)
    failures = {}
    for label, call in (
        ("404 upsert on an unknown field", lambda: client.Account.upsert("NoSuch_Ext__c/abc", {"Name": "x" * 2000})),
        ("401 POST with a bad token", lambda: bad.restful(
            "composite/sobjects", method="POST",
            data=json.dumps({"allOrNone": False, "records": [{"attributes": {"type": "Account"}, "Name": "x" * 2000}]}))),
    ):
        failures[label] = 0
        for _ in range(60):
            try:
                call()
            except (SalesforceResourceNotFound, SalesforceExpiredSession):
                pass
            try:
                client.Account.create({"Name": f"{ctx['run']} keepalive"})
            except requests.exceptions.ConnectionError:
                failures[label] += 1
    expect_eq(failures, {k: 0 for k in failures}, "follow-up calls that died with ConnectionError (of 60 each)")


# ---------------------------------------------------------------- CRUD, upsert

@check("crud.create_get_update_delete")
def _(ctx):
    acct = sf(ctx).Account
    res = acct.create({"Name": f"{ctx['run']} crud", "Industry": "Banking", "NumberOfEmployees": 12})
    expect_eq(res.get("success"), True, f"create: {short(res)}")
    expect_eq(res.get("errors"), [], "create errors")
    rid = res["id"]
    expect(len(rid) == 18 and rid.startswith("001"), f"18-char Account id: {rid}")
    got = acct.get(rid)
    expect_eq(got["Id"], rid, "Id")
    expect_eq(got["attributes"]["type"], "Account", "attributes.type")
    expect_eq(got["attributes"]["url"], f"/services/data/v{VERSION}/sobjects/Account/{rid}", "attributes.url")
    expect_eq((got["Name"], got["Industry"], got["NumberOfEmployees"]), (f"{ctx['run']} crud", "Banking", 12), "fields")
    expect(got["CreatedDate"].endswith("+0000"), f"datetime format: {got['CreatedDate']}")
    expect_eq(acct.get(rid[:15])["Id"], rid, "15-char id accepted, 18-char answered")
    expect_eq(acct.update(rid, {"Industry": "Energy", "NumberOfEmployees": None}), 204, "update status")
    got = acct.get(rid)
    expect_eq((got["Industry"], got["NumberOfEmployees"]), ("Energy", None), "updated fields")
    expect(got["LastModifiedDate"] >= got["CreatedDate"], "LastModifiedDate moved")
    expect_eq(acct.delete(rid), 204, "delete status")
    try:
        acct.get(rid)
    except SalesforceResourceNotFound as exc:
        expect(err_code(exc) in ("ENTITY_IS_DELETED", "NOT_FOUND"), f"errorCode: {short(exc.content)}")
    else:
        raise AssertionError("a deleted record was still readable")


@check("crud.required_field_missing")
def _(ctx):
    try:
        sf(ctx).Account.create({"Industry": "Banking"})
    except SalesforceMalformedRequest as exc:
        expect_eq(err_code(exc), "REQUIRED_FIELD_MISSING", "errorCode")
        expect_eq(exc.content[0].get("fields"), ["Name"], "fields")
        return
    raise AssertionError("an Account without Name was created")


@check("crud.unknown_field")
def _(ctx):
    try:
        sf(ctx).Account.create({"Name": "x", "NoSuchField__c": 1})
    except SalesforceMalformedRequest as exc:
        expect_eq(err_code(exc), "INVALID_FIELD", "errorCode")
        return
    raise AssertionError("an unknown field was accepted")


@check("call_options.client_tag_in_change_origin")
def _(ctx):
    last = control(ctx, "GET", "/changes?after=0&max=100000").json()["changes"]
    after = last[-1]["seq"] if last else 0
    res = sf(ctx).Account.create(
        {"Name": f"{ctx['run']} tagged"}, headers={"Sforce-Call-Options": "client=orgsync-conformance"}
    )
    changes = control(ctx, "GET", f"/changes?after={after}&max=1000").json()["changes"]
    mine = [c for c in changes if c["recordId"] == res["id"]]
    expect_eq([c["changeType"] for c in mine], ["CREATE"], "change log entry")
    expect_eq(mine[0]["changeOrigin"], f"com/salesforce/api/rest/{VERSION};client=orgsync-conformance", "changeOrigin")


@check("upsert.by_external_id_create_then_update")
def _(ctx):
    acct = sf(ctx).Account
    gid = f"{ctx['run']}:up1"
    first = acct.upsert(f"{EXT}/{gid}", {"Name": f"{ctx['run']} upsert"}, raw_response=True)
    expect_eq(first.status_code, 201, "first upsert status")
    body = first.json()
    expect_eq((body.get("success"), body.get("created")), (True, True), f"first upsert body {short(body)}")
    second = acct.upsert(f"{EXT}/{gid}", {"Name": f"{ctx['run']} upsert 2"}, raw_response=True)
    expect_eq(second.status_code, 200, "second upsert status (v46+: 200 with created false)")
    body2 = second.json()
    expect_eq((body2.get("id"), body2.get("created")), (body["id"], False), f"second upsert body {short(body2)}")
    got = acct.get_by_custom_id(EXT, gid)
    expect_eq((got["Id"], got["Name"]), (body["id"], f"{ctx['run']} upsert 2"), "read back by external id")
    ctx["acct_gid"], ctx["acct_id"] = gid, body["id"]


@check("upsert.unknown_external_field")
def _(ctx):
    try:
        sf(ctx).Account.upsert("NoSuch_Ext__c/abc", {"Name": "x"})
    except SalesforceResourceNotFound as exc:
        expect_eq(err_code(exc), "NOT_FOUND", "errorCode")
        return
    raise AssertionError("upsert on an unknown field did not answer 404")


@check("upsert.multiple_matches_300")
def _(ctx):
    acct = sf(ctx).Account
    gid = f"{ctx['run']}:dup"
    a = acct.create({"Name": f"{ctx['run']} dup a", EXT: gid})["id"]
    b = acct.create({"Name": f"{ctx['run']} dup b", EXT: gid + "-b"})["id"]
    # Unique external ids can only collide through drift: the control surface edits
    # a record directly, without validation (what a data loader bypassing rules would do).
    drift = control(ctx, "PATCH", f"/records/Account/{b}", {EXT: gid})
    if drift.status_code != 204:
        raise Skip(f"cannot make two records share an external id (control PATCH {drift.status_code})")
    try:
        acct.upsert(f"{EXT}/{gid}", {"Name": "which one?"})
    except SalesforceMoreThanOneRecord as exc:
        expect_eq(exc.status, 300, "status")
        # Body: a JSON array of the matching records' URLs (observed from Salesforce, e.g.
        # ["/services/data/v41.0/sobjects/Account/0011I00000aCPEAQA4", …]).
        base = f"/services/data/v{VERSION}/sobjects/Account/"
        expect(isinstance(exc.content, list), f"300 body is a JSON array: {short(exc.content)}")
        expect_eq(sorted(exc.content), sorted([base + a, base + b]), "300 body: the matching records' URLs")
        return
    raise AssertionError("upsert matching two records did not answer 300")


@check("relationship.parent_by_external_id")
def _(ctx):
    if "acct_gid" not in ctx:
        raise Skip("needs the upsert check's account")
    res = sf(ctx).Contact.create(
        {"LastName": f"{ctx['run']} child", "FirstName": "Ada", "Account": {EXT: ctx["acct_gid"]}}
    )
    expect_eq(res.get("success"), True, f"create with parent reference: {short(res)}")
    got = sf(ctx).Contact.get(res["id"])
    expect_eq(got["AccountId"], ctx["acct_id"], "AccountId resolved from the parent's external id")
    ctx["contact_id"] = res["id"]
    up = sf(ctx).Contact.upsert(
        f"{EXT}/{ctx['run']}:c1",
        {"LastName": f"{ctx['run']} child2", "Account": {EXT: ctx["acct_gid"]}},
        raw_response=True,
    )
    expect_eq(up.status_code, 201, "upsert with a parent reference")
    expect_eq(sf(ctx).Contact.get(up.json()["id"])["AccountId"], ctx["acct_id"], "upserted child's AccountId")


@check("relationship.parent_by_unknown_external_id")
def _(ctx):
    try:
        sf(ctx).Contact.create({"LastName": "orphan", "Account": {EXT: f"{ctx['run']}:missing"}})
    except (SalesforceMalformedRequest, SalesforceResourceNotFound) as exc:
        expect_eq(err_code(exc), "INVALID_FIELD", "errorCode for a parent that does not exist")
        return
    raise AssertionError("a child pointing at a missing parent was created")


@check("relationship.parent_fields_in_query")
def _(ctx):
    if "contact_id" not in ctx:
        raise Skip("needs the parent-by-external-id contact")
    res = sf(ctx).query(f"SELECT Name, Account.Name, Account.{EXT} FROM Contact WHERE Id = '{ctx['contact_id']}'")
    expect_eq(res["totalSize"], 1, "totalSize")
    rec = res["records"][0]
    expect_eq(rec["Name"], f"Ada {ctx['run']} child", "compound Name")
    expect_eq(rec["Account"]["attributes"]["type"], "Account", "parent attributes.type")
    expect_eq(rec["Account"]["Name"], f"{ctx['run']} upsert 2", "Account.Name")
    expect_eq(rec["Account"][EXT], ctx["acct_gid"], f"Account.{EXT}")
    orphan = sf(ctx).Contact.create({"LastName": f"{ctx['run']} no parent"})["id"]
    res = sf(ctx).query(f"SELECT Name, Account.Name FROM Contact WHERE Id = '{orphan}'")
    expect_eq(res["records"][0]["Account"], None, "missing parent is null")


@check("relationship.child_subquery")
def _(ctx):
    if "acct_id" not in ctx:
        raise Skip("needs the upsert check's account")
    res = sf(ctx).query(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account "
        f"WHERE Id = '{ctx['acct_id']}'"
    )
    sub = res["records"][0]["Contacts"]
    expect_eq((sub["totalSize"], sub["done"]), (2, True), "subquery totalSize/done")
    expect_eq([r["LastName"] for r in sub["records"]], [f"{ctx['run']} child", f"{ctx['run']} child2"], "children")
    empty = sf(ctx).Account.create({"Name": f"{ctx['run']} childless"})["id"]
    res = sf(ctx).query(f"SELECT Name, (SELECT LastName FROM Contacts) FROM Account WHERE Id = '{empty}'")
    expect_eq(res["records"][0]["Contacts"], None, "no children is null")


@check("types.round_trip_and_filters")
def _(ctx):
    con = sf(ctx).Contact
    rid = con.create({"LastName": f"{ctx['run']} types", "Birthdate": "1980-05-07", "HasOptedOutOfEmail": True,
                      "Email": "ada@example.com", "Description": "line 1\nline 2 – ünïcødé ✓"})["id"]
    got = con.get(rid)
    expect_eq((got["Birthdate"], got["HasOptedOutOfEmail"], got["Email"], got["Description"]),
              ("1980-05-07", True, "ada@example.com", "line 1\nline 2 – ünïcødé ✓"), "values read back")
    q = (f"SELECT Id FROM Contact WHERE Birthdate = 1980-05-07 AND HasOptedOutOfEmail = true "
         f"AND LastName LIKE '{ctx['run']} TY%'")
    expect_eq([r["Id"] for r in sf(ctx).query(q)["records"]], [rid], q)
    acct = sf(ctx).Account.create({"Name": f"{ctx['run']} money", "AnnualRevenue": 1234567.5,
                                   "NumberOfEmployees": 42})["id"]
    got = sf(ctx).Account.get(acct)
    # AnnualRevenue is currency(18, 0): Salesforce rounds the value to the field's scale.
    expect_eq((got["AnnualRevenue"], got["NumberOfEmployees"]), (1234568, 42), "currency rounded to scale 0, int")
    res = sf(ctx).query(f"SELECT Id FROM Account WHERE Id = '{acct}' AND AnnualRevenue > 1000000 "
                        "AND NumberOfEmployees IN (41, 42, 43)")
    expect_eq(res["totalSize"], 1, "numeric filters")


@check("errors.field_validation_codes")
def _(ctx):
    cases = [
        ("Account", {"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
        ("Contact", {"LastName": "bad email", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
        ("Contact", {"LastName": "bad date", "Birthdate": "07/05/1980"}, "JSON_PARSER_ERROR", None),
    ]
    for obj, body, code, fields in cases:
        try:
            getattr(sf(ctx), obj).create(body)
        except SalesforceMalformedRequest as exc:
            expect_eq(err_code(exc), code, f"{obj} {short(body, 60)}")
            if fields is not None:
                expect_eq(exc.content[0].get("fields"), fields, f"{code} fields")
        else:
            raise AssertionError(f"{obj} {short(body, 60)} was accepted")


@check("custom_objects.relationships_and_defaults")
def _(ctx):
    if "acct_gid" not in ctx:
        raise Skip("needs the upsert check's account")
    wi = sf(ctx).Work_Item__c
    res = wi.create({"Name": f"{ctx['run']} wi", "Estimate_Hours__c": 2.5, "Due_Date__c": "2026-12-01",
                     "Account__r": {EXT: ctx["acct_gid"]}})
    got = wi.get(res["id"])
    expect_eq((got["Status__c"], got["Estimate_Hours__c"], got["Due_Date__c"], got["Account__c"]),
              ("New", 2.5, "2026-12-01", ctx["acct_id"]), "defaulted picklist, values, lookup by external id")
    q = f"SELECT Name, Account__r.Name, (SELECT Name FROM Comments__r) FROM Work_Item__c WHERE Id = '{res['id']}'"
    com = sf(ctx).Work_Item_Comment__c.create({"Work_Item__c": res["id"], "Body__c": "hi"})
    rec = sf(ctx).query(q)["records"][0]
    expect_eq(rec["Account__r"]["Name"], f"{ctx['run']} upsert 2", "Account__r.Name")
    names = [r["Name"] for r in rec["Comments__r"]["records"]]
    expect(len(names) == 1 and names[0].startswith("WIC-") and len(names[0]) == 10, f"auto-number name {names}")
    expect_eq(sf(ctx).Work_Item_Comment__c.get(com["id"])["Name"], names[0], "auto-number on the record")
    sub = sf(ctx).query(f"SELECT (SELECT Name FROM Work_Items__r) FROM Account WHERE Id = '{ctx['acct_id']}'")
    expect_eq([r["Name"] for r in sub["records"][0]["Work_Items__r"]["records"]], [f"{ctx['run']} wi"],
              "custom child relationship")


@check("relationship.filters_and_semi_join")
def _(ctx):
    if "acct_gid" not in ctx:
        raise Skip("needs the upsert check's account")
    res = sf(ctx).query(f"SELECT LastName FROM Contact WHERE Account.{EXT} = '{ctx['acct_gid']}' ORDER BY LastName")
    expect_eq([r["LastName"] for r in res["records"]], [f"{ctx['run']} child", f"{ctx['run']} child2"],
              "filter on a parent field")
    res = sf(ctx).query(
        f"SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE LastName = '{ctx['run']} child')"
    )
    expect_eq([r["Name"] for r in res["records"]], [f"{ctx['run']} upsert 2"], "semi-join")


@check("files.multipart_content_version_and_links")
def _(ctx):
    # The multipart recipe scripts use with requests (entity_content + VersionData), a new
    # version, the streamed download, Checksum = MD5, and ContentDocumentLink's query rule.
    import hashlib

    client = sf(ctx)
    acct = client.Account.create({"Name": f"{ctx['run']} files"})["id"]
    url = f"{ctx['base']}/services/data/v{VERSION}/sobjects/ContentVersion"
    auth = {"Authorization": f"Bearer {client.session_id}"}
    data = secrets.token_bytes(300_000)
    entity = {"Title": "spec", "PathOnClient": "spec.bin", "FirstPublishLocationId": acct}
    resp = http(ctx).post(url, headers=auth, files={
        "entity_content": (None, json.dumps(entity), "application/json"),
        "VersionData": ("spec.bin", data, "application/octet-stream"),
    })
    expect_eq(resp.status_code, 201, f"multipart insert ({short(resp.text)})")
    vid = resp.json()["id"]
    got = client.ContentVersion.get(vid)
    expect_eq(got["Checksum"], hashlib.md5(data).hexdigest(), "Checksum is the MD5 hex")
    expect_eq(got["ContentSize"], len(data), "ContentSize")
    down = http(ctx).get(f"{url}/{vid}/VersionData", headers=auth)
    expect_eq((down.status_code, down.content == data), (200, True), "download byte for byte")
    doc = got["ContentDocumentId"]
    entity2 = {"PathOnClient": "spec2.bin", "ContentDocumentId": doc}
    resp = http(ctx).post(url, headers=auth, files={
        "entity_content": (None, json.dumps(entity2), "application/json"),
        "VersionData": ("spec2.bin", b"v2", "application/octet-stream"),
    })
    expect_eq(resp.status_code, 201, f"new version ({short(resp.text)})")
    expect_eq(client.ContentVersion.get(resp.json()["id"])["VersionNumber"], "2", "VersionNumber")
    links = client.query(f"SELECT ShareType FROM ContentDocumentLink WHERE LinkedEntityId = '{acct}'")
    expect_eq(links["totalSize"], 1, "FirstPublishLocationId linked the record")
    try:
        client.query("SELECT Id FROM ContentDocumentLink")
    except SalesforceMalformedRequest as exc:
        expect_eq(err_code(exc), "MALFORMED_QUERY", "unfiltered ContentDocumentLink query")
    else:
        raise AssertionError("an unfiltered ContentDocumentLink query was answered")
    client.ContentDocument.delete(doc)
    expect_eq(client.query(f"SELECT COUNT() FROM ContentVersion WHERE ContentDocumentId = '{doc}'")["totalSize"], 0, "versions deleted with their document")


@check("rest.api_version_behaviour")
def _(ctx):
    old = Salesforce(instance_url=ctx["base"], session_id=sf(ctx).session_id, session=http(ctx), version="45.0")
    gid = f"{ctx['run']}:v45"
    first = old.Account.upsert(f"{EXT}/{gid}", {"Name": f"{ctx['run']} v45"}, raw_response=True)
    expect_eq(first.status_code, 201, "v45 upsert create")
    expect("created" not in first.json(), f"no 'created' key before v46: {short(first.json())}")
    second = old.Account.upsert(f"{EXT}/{gid}", {"Name": f"{ctx['run']} v45 b"}, raw_response=True)
    expect_eq((second.status_code, second.text), (204, ""), "v45 upsert update: 204, no body")
    too_old = Salesforce(instance_url=ctx["base"], session_id=sf(ctx).session_id, session=http(ctx), version="30.0")
    try:
        too_old.describe()
    except SalesforceResourceNotFound as exc:
        expect_eq(err_code(exc), "NOT_FOUND", "errorCode for an unserved version")
    else:
        raise AssertionError("API v30.0 (older than served) answered")


# ---------------------------------------------------------------- query

@check("query.insert_5100_via_collections")
def _(ctx):
    marker = f"{ctx['run']}-pg"
    ratings = ["Hot", "Warm", "Cold"]
    ctx["t0"] = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=2)
    records = [
        {"attributes": {"type": "Account"}, "Name": f"{marker} {i:05d}", "AccountNumber": marker,
         "Rating": ratings[i % 3], EXT: f"{marker}:{i}"}
        for i in range(PAGE_ROWS)
    ]
    ids = insert_many(sf(ctx), records)
    expect_eq(len(set(ids)), PAGE_ROWS, "distinct ids")
    ctx["page_marker"], ctx["page_ids"] = marker, ids


def page_marker(ctx: Dict[str, Any]) -> str:
    if "page_marker" not in ctx:
        raise Skip("needs the 5,100 inserted rows")
    return ctx["page_marker"]


@check("query.paging_next_records_url")
def _(ctx):
    marker = page_marker(ctx)
    client = sf(ctx)
    first = client.query(f"SELECT Id, Name FROM Account WHERE AccountNumber = '{marker}' ORDER BY Name")
    expect_eq((first["totalSize"], first["done"]), (PAGE_ROWS, False), "first page totalSize/done")
    expect(0 < len(first["records"]) <= 2000, f"batch size {len(first['records'])}")
    nxt = first.get("nextRecordsUrl", "")
    expect(nxt.startswith(f"/services/data/v{VERSION}/query/"), f"nextRecordsUrl {nxt!r}")
    second = client.query_more(nxt, identifier_is_url=True)
    expect_eq(second["totalSize"], PAGE_ROWS, "second page totalSize")
    expect(second["records"][0]["Name"] > first["records"][-1]["Name"], "second page continues the order")
    locator = nxt.rsplit("/", 1)[-1]
    third = client.query_more(locator)  # by locator id, as query_more(identifier) builds it
    expect_eq(third["records"][0]["Id"], second["records"][0]["Id"], "locator reusable by id")


@check("query.query_all_follows_every_page")
def _(ctx):
    marker = page_marker(ctx)
    res = sf(ctx).query_all(f"SELECT Id, Name FROM Account WHERE AccountNumber = '{marker}' ORDER BY Name")
    names = [r["Name"] for r in res["records"]]
    expect_eq(len(names), PAGE_ROWS, "rows via query_all")
    expect_eq(names, sorted(names), "order kept across pages")
    expect_eq(len({r["Id"] for r in res["records"]}), PAGE_ROWS, "no row twice")


@check("query.keyset_watermark_walk")
def _(ctx):
    # The incremental-sync read: ORDER BY SystemModstamp, Id with a (SystemModstamp, Id) keyset.
    marker = page_marker(ctx)
    seen: List[str] = []
    where = ""
    for _ in range(10):
        q = (f"SELECT Id, SystemModstamp FROM Account WHERE AccountNumber = '{marker}'{where} "
             "ORDER BY SystemModstamp, Id LIMIT 2000")
        page = sf(ctx).query(q)
        expect(page["done"], f"LIMIT 2000 fits one batch: {short({k: page[k] for k in ('totalSize', 'done')})}")
        recs = page["records"]
        if not recs:
            break
        stamps = [r["SystemModstamp"] for r in recs]
        expect_eq(stamps, sorted(stamps), "page ordered by SystemModstamp")
        # The Id collation is not asserted (Salesforce's is not documented); what a keyset walk
        # needs — `Id >` agreeing with ORDER BY Id — is proven by every row coming exactly once.
        seen.extend(r["Id"] for r in recs)
        ts, last = recs[-1]["SystemModstamp"], recs[-1]["Id"]
        lit = ts.replace("+0000", "Z")
        where = f" AND (SystemModstamp > {lit} OR (SystemModstamp = {lit} AND Id > '{last}'))"
    expect_eq(len(seen), PAGE_ROWS, "rows seen walking the keyset")
    expect_eq(len(set(seen)), PAGE_ROWS, "no row twice")


@check("query.batch_size_header")
def _(ctx):
    marker = page_marker(ctx)
    res = sf(ctx).query(
        f"SELECT Id FROM Account WHERE AccountNumber = '{marker}'",
        headers={"Sforce-Query-Options": "batchSize=500"},
    )
    expect_eq((len(res["records"]), res["done"]), (500, False), "Sforce-Query-Options: batchSize=500")
    # Clients resend the header with each page (jsforce does); whether a cursor remembers the
    # batch size by itself is not documented, so that is not asserted.
    more = sf(ctx).query_more(
        res["nextRecordsUrl"], identifier_is_url=True, headers={"Sforce-Query-Options": "batchSize=500"}
    )
    expect_eq(len(more["records"]), 500, "the batch size holds for the next page")


@check("query.count")
def _(ctx):
    marker = page_marker(ctx)
    res = sf(ctx).query(f"SELECT COUNT() FROM Account WHERE AccountNumber = '{marker}'")
    expect_eq((res["totalSize"], res["done"], res["records"]), (PAGE_ROWS, True, []), "COUNT()")


@check("query.count_field_and_group_by")
def _(ctx):
    marker = page_marker(ctx)
    res = sf(ctx).query(f"SELECT COUNT(Id) FROM Account WHERE AccountNumber = '{marker}'")
    rec = res["records"][0]
    expect_eq(rec["expr0"], PAGE_ROWS, "COUNT(Id) as expr0")
    expect_eq(rec["attributes"], {"type": "AggregateResult"}, "aggregate attributes (no url)")
    res = sf(ctx).query(
        f"SELECT Rating, COUNT(Id) n FROM Account WHERE AccountNumber = '{marker}' GROUP BY Rating ORDER BY Rating"
    )
    expect_eq(res["totalSize"], 3, "groups")
    got = [(r["Rating"], r["n"]) for r in res["records"]]
    expect_eq(got, [("Cold", 1700), ("Hot", 1700), ("Warm", 1700)], "groups and counts")


@check("query.date_literals")
def _(ctx):
    marker = page_marker(ctx)
    where = f"AccountNumber = '{marker}'"
    for literal, want in (
        ("CreatedDate = TODAY", PAGE_ROWS),
        ("CreatedDate = LAST_N_DAYS:1", PAGE_ROWS),
        ("CreatedDate = YESTERDAY", 0),
        ("CreatedDate < TODAY", 0),
        ("CreatedDate > LAST_N_DAYS:2", 0),
    ):
        res = sf(ctx).query(f"SELECT COUNT() FROM Account WHERE {where} AND {literal}")
        expect_eq(res["totalSize"], want, literal)


@check("query.datetime_watermark")
def _(ctx):
    marker = page_marker(ctx)
    since = soql_dt(ctx["t0"])
    res = sf(ctx).query(
        f"SELECT COUNT() FROM Account WHERE AccountNumber = '{marker}' AND SystemModstamp > {since}"
    )
    expect_eq(res["totalSize"], PAGE_ROWS, f"SystemModstamp > {since}")
    later = soql_dt(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    res = sf(ctx).query(f"SELECT COUNT() FROM Account WHERE AccountNumber = '{marker}' AND SystemModstamp > {later}")
    expect_eq(res["totalSize"], 0, "nothing after a future watermark")


@check("query.format_soql_datetime_offsets")
def _(ctx):
    from simple_salesforce.format import format_soql

    marker = page_marker(ctx)
    since = ctx["t0"].replace(microsecond=0)
    q = format_soql("SELECT COUNT() FROM Account WHERE AccountNumber = {} AND SystemModstamp > {}", marker, since)
    expect("+00:00" in q, f"format_soql writes +00:00: {q}")
    expect_eq(sf(ctx).query(q)["totalSize"], PAGE_ROWS, q)
    est = dt.timezone(dt.timedelta(hours=-5))
    local = since.astimezone(est).strftime("%Y-%m-%dT%H:%M:%S-05:00")
    q = f"SELECT COUNT() FROM Account WHERE AccountNumber = '{marker}' AND SystemModstamp > {local}"
    expect_eq(sf(ctx).query(q)["totalSize"], PAGE_ROWS, q)
    later = (since + dt.timedelta(hours=1)).astimezone(est).strftime("%Y-%m-%dT%H:%M:%S-05:00")
    q = f"SELECT COUNT() FROM Account WHERE AccountNumber = '{marker}' AND SystemModstamp > {later}"
    expect_eq(sf(ctx).query(q)["totalSize"], 0, q)


@check("query.invalid_field_error")
def _(ctx):
    try:
        sf(ctx).query("SELECT Id, Foo FROM Account")
    except SalesforceMalformedRequest as exc:
        expect_eq(err_code(exc), "INVALID_FIELD", "errorCode")
        expect("No such column 'Foo' on entity 'Account'" in exc.content[0]["message"], short(exc.content))
        return
    raise AssertionError("an unknown column was accepted")


@check("query.query_all_after_delete")
def _(ctx):
    marker = page_marker(ctx)
    victim = ctx["page_ids"][7]
    expect_eq(sf(ctx).Account.delete(victim), 204, "delete")
    ctx["deleted_id"] = victim
    live = sf(ctx).query(f"SELECT Id FROM Account WHERE Id = '{victim}'")
    expect_eq(live["totalSize"], 0, "deleted row gone from query")
    res = sf(ctx).query_all(f"SELECT Id, IsDeleted FROM Account WHERE Id = '{victim}'", include_deleted=True)
    expect_eq([(r["Id"], r["IsDeleted"]) for r in res["records"]], [(victim, True)], "queryAll row")
    res = sf(ctx).query_all(
        f"SELECT Id FROM Account WHERE AccountNumber = '{marker}' AND IsDeleted = true", include_deleted=True
    )
    expect_eq([r["Id"] for r in res["records"]], [victim], "queryAll ... IsDeleted = true")
    every = sf(ctx).query_all(f"SELECT Id FROM Account WHERE AccountNumber = '{marker}'", include_deleted=True)
    expect_eq(every["totalSize"], PAGE_ROWS, "queryAll pages over live + deleted rows")
    live_all = sf(ctx).query_all(f"SELECT Id FROM Account WHERE AccountNumber = '{marker}'")
    expect_eq(live_all["totalSize"], PAGE_ROWS - 1, "query pages over live rows only")


@check("sobject.updated_and_deleted")
def _(ctx):
    if "deleted_id" not in ctx:
        raise Skip("needs the queryAll check's deleted row")
    start = ctx["t0"] - dt.timedelta(minutes=1)
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)
    upd = sf(ctx).Account.updated(start, end)
    expect(ctx["page_ids"][0] in upd.get("ids", []), f"created id listed by /updated ({len(upd.get('ids', []))} ids)")
    expect("latestDateCovered" in upd, "latestDateCovered")
    dele = sf(ctx).Account.deleted(start, end)
    ids = [d["id"] for d in dele.get("deletedRecords", [])]
    expect(ctx["deleted_id"] in ids, f"deleted id listed by /deleted: {short(dele)}")
    expect("earliestDateAvailable" in dele and "latestDateCovered" in dele, "date keys")


# ---------------------------------------------------------------- collections, composite

@check("collections.partial_failure_all_or_none_false")
def _(ctx):
    tag = f"{ctx['run']}-aon0"
    res = collections(sf(ctx), "POST", "composite/sobjects", {"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Name": f"{tag} good", "AccountNumber": tag},
        {"attributes": {"type": "Account"}, "AccountNumber": tag},
    ]})
    expect_eq(len(res), 2, "one result per record")
    expect_eq((res[0]["success"], res[0]["errors"]), (True, []), f"good record {short(res[0])}")
    expect_eq(res[1]["success"], False, "bad record")
    expect_eq(res[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING", f"statusCode {short(res[1])}")
    expect_eq(res[1]["errors"][0]["fields"], ["Name"], "fields")
    n = sf(ctx).query(f"SELECT COUNT() FROM Account WHERE AccountNumber = '{tag}'")["totalSize"]
    expect_eq(n, 1, "the good record was saved")


@check("collections.partial_failure_all_or_none_true")
def _(ctx):
    tag = f"{ctx['run']}-aon1"
    res = collections(sf(ctx), "POST", "composite/sobjects", {"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "Name": f"{tag} good", "AccountNumber": tag},
        {"attributes": {"type": "Account"}, "AccountNumber": tag},
    ]})
    expect_eq([r["success"] for r in res], [False, False], f"every item fails {short(res)}")
    expect_eq(res[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK", "good record's error")
    expect_eq(res[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING", "bad record's error")
    n = sf(ctx).query(f"SELECT COUNT() FROM Account WHERE AccountNumber = '{tag}'")["totalSize"]
    expect_eq(n, 0, "nothing saved")


@check("collections.upsert_update_delete")
def _(ctx):
    client = sf(ctx)
    tag = f"{ctx['run']}-cu"
    recs = [{"attributes": {"type": "Account"}, "Name": f"{tag} {i}", EXT: f"{tag}:{i}"} for i in range(2)]
    first = collections(client, "PATCH", f"composite/sobjects/Account/{EXT}", {"allOrNone": False, "records": recs[:1]})
    expect_eq(first[0].get("created"), True, f"created {short(first)}")
    both = collections(client, "PATCH", f"composite/sobjects/Account/{EXT}", {"allOrNone": False, "records": recs})
    expect_eq([r.get("created") for r in both], [False, True], f"created flags {short(both)}")
    expect_eq(both[0]["id"], first[0]["id"], "same record updated")
    ids = [r["id"] for r in both]
    upd = collections(client, "PATCH", "composite/sobjects", {"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "id": i, "Industry": "Retail"} for i in ids
    ]})
    expect_eq([r["success"] for r in upd], [True, True], f"update {short(upd)}")
    got = client.restful(f"composite/sobjects/Account", params={"ids": ",".join(ids), "fields": "Id,Industry"})
    expect_eq([r["Industry"] for r in got], ["Retail", "Retail"], "retrieve after update")
    dele = client.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids), "allOrNone": "false"})
    expect_eq([(r["id"], r["success"]) for r in dele], [(i, True) for i in ids], "delete results")


@check("composite.references")
def _(ctx):
    tag = f"{ctx['run']}-cmp"
    base = f"/services/data/v{VERSION}"
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "refAccount",
         "body": {"Name": f"{tag} parent"}},
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "refContact",
         "body": {"LastName": f"{tag} child", "AccountId": "@{refAccount.id}"}},
        {"method": "GET", "url": f"{base}/sobjects/Contact/@{{refContact.id}}?fields=AccountId",
         "referenceId": "refRead"},
        {"method": "GET", "url": f"{base}/query?q=SELECT+Id+FROM+Contact+WHERE+AccountId+%3D+%27@{{refAccount.id}}%27",
         "referenceId": "refQuery"},
    ]}
    res = sf(ctx).restful("composite", method="POST", data=json.dumps(body))
    subs = res["compositeResponse"]
    expect_eq([s["referenceId"] for s in subs], ["refAccount", "refContact", "refRead", "refQuery"], "order")
    expect_eq([s["httpStatusCode"] for s in subs], [201, 201, 200, 200], f"statuses {short(subs)}")
    acct_id = subs[0]["body"]["id"]
    expect_eq(subs[0]["httpHeaders"].get("Location"), f"{base}/sobjects/Account/{acct_id}", "Location")
    expect_eq(subs[2]["body"]["AccountId"], acct_id, "reference resolved into the child")
    expect_eq(subs[3]["body"]["totalSize"], 1, "reference resolved inside a query URL")


@check("composite.all_or_none_rolls_back")
def _(ctx):
    tag = f"{ctx['run']}-cmprb"
    base = f"/services/data/v{VERSION}"
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "ok",
         "body": {"Name": f"{tag} a", "AccountNumber": tag}},
        {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "bad",
         "body": {"AccountNumber": tag}},
    ]}
    subs = sf(ctx).restful("composite", method="POST", data=json.dumps(body))["compositeResponse"]
    bad = subs[1]
    expect_eq(bad["httpStatusCode"], 400, "failing subrequest status")
    expect_eq(bad["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING", "failing subrequest body")
    n = sf(ctx).query(f"SELECT COUNT() FROM Account WHERE AccountNumber = '{tag}'")["totalSize"]
    expect_eq(n, 0, "the successful subrequest was rolled back")


@check("composite.batch")
def _(ctx):
    client = sf(ctx)
    acct = client.Account.create({"Name": f"{ctx['run']} batch"})["id"]
    body = {"haltOnError": False, "batchRequests": [
        {"method": "PATCH", "url": f"v{VERSION}/sobjects/Account/{acct}", "richInput": {"Industry": "Media"}},
        {"method": "GET", "url": f"v{VERSION}/sobjects/Account/{acct}?fields=Industry"},
        {"method": "GET", "url": f"v{VERSION}/sobjects/Account/001000000000000AAA"},
    ]}
    res = client.restful("composite/batch", method="POST", data=json.dumps(body))
    expect_eq(res["hasErrors"], True, "hasErrors")
    codes = [r["statusCode"] for r in res["results"]]
    expect_eq(codes[:2], [204, 200], f"statuses {short(res)}")
    expect(codes[2] in (400, 404), f"missing record status {codes[2]}")
    expect_eq(res["results"][1]["result"]["Industry"], "Media", "batched update visible to the next subrequest")


def with_faults(ctx: Dict[str, Any], body: Dict[str, Any]) -> None:
    resp = control(ctx, "PUT", "/faults", body)
    expect_eq(resp.status_code, 204, f"PUT /__sfemu/faults ({resp.text})")


@check("faults.request_limit_exceeded")
def _(ctx):
    usage = control(ctx, "GET", "/api-usage").json()
    expect_eq(control(ctx, "PUT", "/limits", {"used": usage["max"]}).status_code, 204, "PUT /__sfemu/limits")
    try:
        sf(ctx).query("SELECT Id FROM Account LIMIT 1")
    except SalesforceRefusedRequest as exc:
        expect_eq(exc.status, 403, "status")
        expect_eq(err_code(exc), "REQUEST_LIMIT_EXCEEDED", "errorCode")
        expect_eq(exc.content[0]["message"], "TotalRequests Limit exceeded.", "message")
    else:
        raise AssertionError("a call over the daily limit succeeded")
    finally:
        control(ctx, "POST", "/api-usage/reset")
    expect("totalSize" in sf(ctx).query("SELECT Id FROM Account LIMIT 1"), "calls work again after reset")


@check("faults.unable_to_lock_row_and_503")
def _(ctx):
    try:
        with_faults(ctx, {"errorRate": {"UNABLE_TO_LOCK_ROW": 1.0}, "seed": 1})
        try:
            sf(ctx).Account.create({"Name": f"{ctx['run']} locked"})
        except SalesforceMalformedRequest as exc:
            expect_eq(err_code(exc), "UNABLE_TO_LOCK_ROW", "errorCode")
        else:
            raise AssertionError("an injected UNABLE_TO_LOCK_ROW did not surface")
        with_faults(ctx, {"offline": True})
        try:
            sf(ctx).query("SELECT Id FROM Account LIMIT 1")
        except SalesforceGeneralError as exc:
            expect_eq(exc.status, 503, "status while offline")
        else:
            raise AssertionError("an offline org answered")
    finally:
        control(ctx, "DELETE", "/faults")
    expect("totalSize" in sf(ctx).query("SELECT Id FROM Account LIMIT 1"), "calls work again after clearing")


@check("faults.record_errors_in_collections")
def _(ctx):
    tag = f"{ctx['run']}-recf"
    try:
        with_faults(ctx, {"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 1.0}, "seed": 7})
        res = collections(sf(ctx), "POST", "composite/sobjects", {"allOrNone": False, "records": [
            {"attributes": {"type": "Account"}, "Name": f"{tag} {i}", "AccountNumber": tag} for i in range(3)
        ]})
    finally:
        control(ctx, "DELETE", "/faults")
    expect_eq([r["success"] for r in res], [False, False, False], f"results {short(res)}")
    expect_eq({r["errors"][0]["statusCode"] for r in res}, {"UNABLE_TO_LOCK_ROW"}, "per-record statusCode")
    n = sf(ctx).query(f"SELECT COUNT() FROM Account WHERE AccountNumber = '{tag}'")["totalSize"]
    expect_eq(n, 0, "failed records were not saved")


@check("faults.record_errors_on_single_record_writes")
def _(ctx):
    tag = f"{ctx['run']}-recs"
    try:
        with_faults(ctx, {"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 1.0}, "seed": 7})
        try:
            sf(ctx).Account.create({"Name": tag, "AccountNumber": tag})
        except SalesforceMalformedRequest as exc:
            expect_eq(exc.status, 400, "status")
            expect_eq(err_code(exc), "UNABLE_TO_LOCK_ROW", "errorCode")
        else:
            raise AssertionError("a single-record create succeeded under recordErrorRate 1.0")
    finally:
        control(ctx, "DELETE", "/faults")
    n = sf(ctx).query(f"SELECT COUNT() FROM Account WHERE AccountNumber = '{tag}'")["totalSize"]
    expect_eq(n, 0, "the failed record was not saved")


# ---------------------------------------------------------------- sessions (last: they expire tokens)

@check("session.revoked_token_is_expired_session")
def _(ctx):
    tok = password_token(ctx)["access_token"]
    client = direct(ctx, tok)
    client.describe()
    resp = http(ctx).post(f"{ctx['base']}/services/oauth2/revoke", data={"token": tok}, timeout=30)
    expect_eq(resp.status_code, 200, "revoke status")
    try:
        client.describe()
    except SalesforceExpiredSession as exc:
        expect_eq(exc.status, 401, "status")
        expect_eq(err_code(exc), "INVALID_SESSION_ID", "errorCode")
        expect_eq(exc.content[0].get("message"), "Session expired or invalid", "message")
        return
    raise AssertionError("a revoked token still works")


@check("session.expired_tokens")
def _(ctx):
    tok = password_token(ctx)["access_token"]
    client = direct(ctx, tok)
    client.Account.describe()
    old_soap = ctx.get("sf_soap")
    old_sid = old_soap.session_id if old_soap else None
    expect_eq(control(ctx, "POST", "/tokens/expire").status_code, 204, "control expire")
    try:
        client.Account.describe()
    except SalesforceExpiredSession as exc:
        expect_eq(err_code(exc), "INVALID_SESSION_ID", "errorCode")
    else:
        raise AssertionError("an expired token still works")
    if old_soap is None:
        raise AssertionError("no SOAP-logged-in client to test re-login with")
    res = old_soap.query("SELECT COUNT() FROM Account")  # simple-salesforce logs in again and retries
    expect("totalSize" in res, "query after transparent re-login")
    expect(old_soap.session_id != old_sid, "a new session id was obtained")
    # The write path: a POST answered 401, re-login, the same POST again.
    expect_eq(control(ctx, "POST", "/tokens/expire").status_code, 204, "control expire (2)")
    created = old_soap.Account.create({"Name": f"{ctx['run']} after expiry"})
    expect_eq(created.get("success"), True, f"create after transparent re-login: {short(created)}")


@check("session.refresh_token_survives_expiry")
def _(ctx):
    if not ctx.get("refresh_token"):
        raise Skip("needs the refresh-token check's token")
    resp = raw_token(ctx, grant_type="refresh_token", refresh_token=ctx["refresh_token"],
                     client_id=ctx["client_id"], client_secret=ctx["client_secret"])
    expect_eq(resp.status_code, 200, f"refresh after expiry ({short(resp.text)})")
    expect(direct(ctx, resp.json()["access_token"]).describe() is not None, "new token works")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", required=True, help="https://127.0.0.1:PORT")
    ap.add_argument("--ca-file", required=True, help="the emulator's certificate (PEM)")
    ap.add_argument("--jwt-key", help="private key whose certificate the JWT connected app carries")
    ap.add_argument("--jwt-client-id", default="sfemu-client")
    ap.add_argument("--client-id", default="sfemu-client")
    ap.add_argument("--client-secret", default="sfemu-secret")
    ap.add_argument("--username", default="admin@sfemu.test")
    ap.add_argument("--password", default="sfemu")
    ap.add_argument("--only", action="append", help="run only checks whose name starts with this")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    base = args.base_url.rstrip("/")
    parsed = urlparse(base)
    ctx: Dict[str, Any] = {
        "base": base,
        "hostport": parsed.netloc,
        "ca": args.ca_file,
        "jwt_key": args.jwt_key,
        "jwt_client_id": args.jwt_client_id,
        "client_id": args.client_id,
        "client_secret": args.client_secret,
        "username": args.username,
        "password": args.password,
        "run": "ss" + secrets.token_hex(4),
        "verbose": args.verbose,
    }
    print(f"simple-salesforce conformance against {base} (run {ctx['run']})", flush=True)
    main_exit(run_all(ctx, args.only))


if __name__ == "__main__":
    main()
