//! Issue 13 items 2-4 through HTTP and the CLI: the operator gets no path to content or to a
//! tenant credential (every route of the OpenAPI document and every CLI command walked), the
//! credential lifecycle (invitation, issue, list, revoke, expiry; revocation across two replicas
//! within 5 s), every credential event in the tenant's audit chain (and operator tokens in the
//! platform chain), the DPO's independence from the registering admin (R1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use hoheit_domain::tenant::Role;
use hoheit_server::harness::{Client, Harness, HarnessOptions};
use serde_json::{Value, json};

const NAME: &str = "Erika Mustermann";
const TEXT: &str = "Ich habe eine Frage zum Vorstellungsgespräch";

scenarios!(token_lifecycle: true, dpo_self_approval_is_refused: true);

fn actions(entries: &Value) -> Vec<(String, Value)> {
    entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["details"].clone()))
        .collect()
}

fn has(entries: &[(String, Value)], action: &str, key: &str, value: &str) -> bool {
    entries.iter().any(|(a, d)| a == action && d[key] == value)
}

async fn audit_entries(client: &Client) -> Vec<(String, Value)> {
    let r = client.get("/api/v1/audit/entries?limit=10000").await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    actions(&r.json)
}

async fn token_lifecycle(h: &Harness) {
    let r = operator_creates_tenant(h, json!({"name": "Token GmbH", "invite_dpo": true})).await;
    assert!(r.json.get("admin_token").is_none() && !r.json.to_string().contains("hoh_"), "{:?}", r.json);
    let invitation = r.str("/admin_invitation/invitation").unwrap().to_owned();
    let staff = r.str("/admin_invitation/id").unwrap().to_owned();
    // an invitation is no bearer token
    assert_eq!(h.client(&invitation).get("/api/v1/channels").await.status, 401);
    let anonymous = Client::anonymous(&h.base);
    let bad = anonymous.post("/api/v1/invitations/accept", json!({"invitation": "hoi_nothing"})).await;
    assert_eq!((bad.status, bad.code()), (404, Some("invitation_invalid")));
    let a = anonymous.post("/api/v1/invitations/accept", json!({"invitation": invitation})).await;
    assert_eq!(a.status, 201, "{:?}", a.json);
    assert_eq!((a.str("/role"), a.str("/id")), (Some("admin"), Some(staff.as_str())));
    let again = anonymous.post("/api/v1/invitations/accept", json!({"invitation": invitation})).await;
    assert_eq!((again.status, again.code()), (410, Some("invitation_used")), "single use");
    let admin = h.client(a.str("/token").unwrap());
    let dpo = h.client(&accept(h, r.str("/dpo_invitation/invitation").unwrap(), None).await);

    // the tenant sees the invitations and their use
    let inv = dpo.get("/api/v1/invitations").await;
    assert_eq!(inv.status, 200, "{:?}", inv.json);
    let list = inv.json.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|i| i["origin"] == "tenant_created" && i["accepted_at"].is_string()));
    assert!(!inv.json.to_string().contains("hoi_"), "no secret in the list");

    // issue: default 90 days, per token up to the tenant maximum
    let r = admin.post("/api/v1/tokens", json!({"role": "recruiter", "label": "team"})).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let recruiter_id = r.str("/id").unwrap().to_owned();
    let recruiter = h.client(r.str("/token").unwrap());
    let expires =
        time::OffsetDateTime::parse(r.str("/expires_at").unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap();
    let days = (expires - hoheit_domain::ports::Clock::now(h.state.clock.as_ref())).whole_days();
    assert!((89..=90).contains(&days), "{days}");
    let too_long =
        admin.post("/api/v1/tokens", json!({"role": "recruiter", "label": "x", "expires_in_days": 91})).await;
    assert_eq!(too_long.code(), Some("invalid_input"));
    let short =
        admin.post("/api/v1/tokens", json!({"role": "recruiter", "label": "short", "expires_in_days": 1})).await;
    assert_eq!(short.status, 201);
    let short_id = short.str("/id").unwrap().to_owned();
    let short_client = h.client(short.str("/token").unwrap());
    assert_eq!(recruiter.get("/api/v1/channels").await.status, 200);

    // list: no secrets, creator, last use
    let l = dpo.get("/api/v1/tokens").await;
    assert_eq!(l.status, 200, "{:?}", l.json);
    assert!(!l.json.to_string().contains("hoh_"), "no secret in the list");
    let listed = l.json.as_array().unwrap();
    let rec = listed.iter().find(|t| t["id"] == recruiter_id.as_str()).unwrap();
    assert_eq!(
        (rec["role"].as_str(), rec["label"].as_str(), rec["state"].as_str()),
        (Some("recruiter"), Some("team"), Some("active"))
    );
    assert_eq!(rec["created_by"], staff.as_str(), "the admin created it");
    assert!(rec["last_used_at"].is_string(), "used once: {rec}");
    assert_eq!(recruiter.get("/api/v1/tokens").await.status, 403, "recruiters do not list tokens");

    // revoke: admin only, effective at once here, audited; a second revoke is 404
    assert_eq!(dpo.delete(&format!("/api/v1/tokens/{recruiter_id}")).await.status, 403);
    assert_eq!(admin.delete(&format!("/api/v1/tokens/{recruiter_id}")).await.status, 204);
    let r = recruiter.get("/api/v1/channels").await;
    assert_eq!(r.status, 401, "{:?}", r.json);
    assert_eq!(admin.delete(&format!("/api/v1/tokens/{recruiter_id}")).await.status, 404);
    let state =
        |json: &Value, id: &str| json.as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()["state"].clone();
    assert_eq!(state(&dpo.get("/api/v1/tokens").await.json, &recruiter_id), "revoked");

    // expiry: the first use after it is `token.expired`, each refused use `token.use_refused`
    h.state.clock.advance(time::Duration::days(2));
    assert_eq!(short_client.get("/api/v1/channels").await.status, 401);
    assert_eq!(state(&dpo.get("/api/v1/tokens").await.json, &short_id), "expired");

    let entries = audit_entries(&dpo).await;
    assert!(has(&entries, "invitation.issued", "role", "admin"));
    assert!(has(&entries, "invitation.issued", "invitation_origin", "tenant_created"));
    assert!(has(&entries, "invitation.accepted", "staff", &staff));
    assert!(has(&entries, "token.issued", "staff", &recruiter_id));
    assert!(has(&entries, "token.revoked", "staff", &recruiter_id));
    assert!(has(&entries, "token.use_refused", "token_state", "revoked"));
    assert!(has(&entries, "token.expired", "staff", &short_id));
    assert!(has(&entries, "token.use_refused", "token_state", "expired"));
    assert_eq!(entries.iter().filter(|(a, d)| a == "token.expired" && d["staff"] == short_id.as_str()).count(), 1);
    let all = serde_json::to_string(&entries.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains("hoh_") && !all.contains("hoi_"), "no secret in the audit log");
    let v = dpo.get("/api/v1/audit/verify").await;
    assert_eq!((v.status, &v.json["ok"]), (200, &json!(true)), "{:?}", v.json);
}

async fn dpo_self_approval_is_refused(h: &Harness) {
    let r = operator_creates_tenant(
        h,
        json!({"name": "Allein GmbH", "privacy_contact": "dpo@example.com", "privacy_notice_url": "https://example.com/ds"}),
    )
    .await;
    assert!(r.json["dpo_invitation"].is_null());
    let admin = h.client(&accept(h, r.str("/admin_invitation/invitation").unwrap(), None).await);
    // the admin mints a DPO token and registers a channel
    let d = admin.post("/api/v1/tokens", json!({"role": "dpo", "label": "dpo"})).await;
    assert_eq!(d.status, 201);
    let dpo = h.client(d.str("/token").unwrap());
    let c = admin
        .post(
            "/api/v1/channels",
            json!({"display_phone_number": "+49 30 901820", "phone_number_id": h.sim.phone_number_id(), "api_key": "x",
                   "consent_template": {"name": "consent_request", "language": "de"}}),
        )
        .await;
    assert_eq!(c.status, 201, "{:?}", c.json);
    let channel = c.str("/id").unwrap().to_owned();
    let approval_path = format!("/api/v1/channels/{channel}/approval");
    let approve = || {
        dpo.post(
            &approval_path,
            json!({"approver_name": "Dr. D", "dpia_reference": "DSFA-1", "documents": ["privacy_notice@v1"]}),
        )
    };
    let r = approve().await;
    assert_eq!((r.status, r.code()), (403, Some("dpo_not_independent")), "{:?}", r.json);
    assert_eq!(admin.get("/api/v1/channels").await.json[0]["approved"], false);
    let record = dpo.get("/api/v1/records-of-processing").await;
    assert_eq!(record.json["dpo_appointment"], "independent", "{:?}", record.json);
    // the tenant explicitly configures "DPO appointed by the admin": audited, in the Art. 30 record
    let s =
        admin.put("/api/v1/settings/credentials", json!({"dpo_appointed_by_admin": true, "token_max_days": 90})).await;
    assert_eq!(s.status, 200, "{:?}", s.json);
    let record = dpo.get("/api/v1/records-of-processing").await;
    assert_eq!(record.json["dpo_appointment"], "appointed_by_admin");
    let r = approve().await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let entries = audit_entries(&dpo).await;
    assert!(
        has(&entries, "credential.settings_changed", "dpo_appointed_by_admin", "true")
            || entries.iter().any(|(a, d)| a == "credential.settings_changed" && d["dpo_appointed_by_admin"] == true)
    );
    assert!(entries.iter().any(|(a, _)| a == "channel.approved"));
    // the admin itself is never a DPO
    let r = admin
        .post(
            &format!("/api/v1/channels/{channel}/approval"),
            json!({"approver_name": "A", "dpia_reference": "x", "documents": ["a@1"]}),
        )
        .await;
    assert_eq!(r.status, 403);
}

/// Two replicas on one PostgreSQL database (and, as a second check, on one SQLite file): a token
/// revoked on one is refused by the other within 5 seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_is_effective_on_another_replica_within_5_seconds() {
    let (one, two, _dir) = two_replicas().await;
    let t = tenant(&one, "Replika GmbH", one.sim.phone_number_id()).await;
    let r = t.admin.post("/api/v1/tokens", json!({"role": "recruiter", "label": "replicated"})).await;
    let (id, token) = (r.str("/id").unwrap().to_owned(), r.str("/token").unwrap().to_owned());
    let on_two = two.client(&token);
    // replica two has the token cached
    assert_eq!(on_two.get("/api/v1/channels").await.status, 200);
    assert_eq!(on_two.get("/api/v1/channels").await.status, 200);
    assert_eq!(t.admin.delete(&format!("/api/v1/tokens/{id}")).await.status, 204);
    let revoked = Instant::now();
    loop {
        if on_two.get("/api/v1/channels").await.status == 401 {
            break;
        }
        assert!(revoked.elapsed() < Duration::from_secs(5), "still accepted on replica two after 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    two.stop().await;
    one.stop().await;
}

fn forbidden_text(body: &str) -> Option<&'static str> {
    for (needle, what) in [
        ("5550123", "a candidate's number"),
        ("Mustermann", "a candidate's name"),
        ("Vorstellungsgespräch", "message content"),
        ("hoh_", "a credential"),
    ] {
        if body.contains(needle) {
            return Some(what);
        }
    }
    None
}

/// Every route of the OpenAPI document with the operator's token: 403 on every tenant route,
/// and no response (tenant creation included) carries content, a name, a number or a tenant
/// credential. Then every CLI command: the same for its output, and no command mints a tenant
/// credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_has_no_path_to_content_or_a_tenant_credential() {
    let (h, dir) = sqlite().await;
    let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let c = candidate(&t, NUMBER).await;
    assert!(t.recruiter.get(&format!("/api/v1/candidates/{c}")).await.status == 200);
    assert_eq!(
        post_webhook(
            &h,
            &t,
            &inbound_text(h.sim.phone_number_id(), WA, "wamid.OP1", TEXT, now_unix()),
            Some(&t.webhook_secret)
        )
        .await,
        200
    );
    let hold = t.dpo.post(&format!("/api/v1/candidates/{c}/legal-holds"), json!({"reason": "other"})).await;
    let hold = hold.str("/id").unwrap_or("00000000-0000-0000-0000-000000000000").to_owned();
    let messages = t.admin.get(&format!("/api/v1/candidates/{c}/messages")).await;
    assert!(messages.json.to_string().contains("Vorstellungsgespräch"), "the content exists: {:?}", messages.json);

    let operator = h.client(&h.token(None, Role::Operator).await.unwrap());
    let spec: Value = serde_json::from_str(&hoheit_server::openapi::spec_json()).unwrap();
    let mut walked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let concrete = path
                .replace("{id}", if path.starts_with("/api/v1/channels") { &t.channel } else { &c })
                .replace("{review}", &hold)
                .replace("{media}", &hold)
                .replace("{hold}", &hold)
                .replace("{request}", &hold)
                .replace("{name}", "consent_request")
                .replace("{language}", "de")
                .replace("{route}", "not-a-route");
            assert!(!concrete.contains('{'), "unfilled parameter in {concrete}");
            let body = match (method, path.as_str()) {
                ("post", "/api/v1/tenants") => Some(json!({"name": "Operator-Walk GmbH"})),
                ("get" | "delete", _) => None,
                _ => Some(json!({})),
            };
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = operator.call(m, &concrete, body).await;
            walked += 1;
            let text = r.json.to_string();
            assert_eq!(forbidden_text(&text), None, "operator {method} {concrete}: {text}");
            let operator_route = path == "/api/v1/tenants";
            // the browser's routes (issue 16) authenticate by invitation or session cookie, never
            // by a bearer token
            let browser = path == "/api/v1/invitations/accept-account" || path.starts_with("/api/v1/session");
            let public = path == "/api/v1/invitations/accept" || browser || !path.starts_with("/api/v1/");
            if operator_route {
                assert!(r.status < 300, "operator {method} {concrete}: {} {text}", r.status);
            } else if !public {
                assert_eq!(r.status, 403, "operator {method} {concrete}: {text}");
            } else if path == "/api/v1/invitations/accept" {
                // without an invitation secret the operator's bearer token is worth nothing here
                assert_eq!(r.status, 400, "operator {method} {concrete}: {text}");
            }
            if browser {
                assert!(
                    [204, 400, 401, 403].contains(&r.status),
                    "the operator's token opens no session: {method} {concrete}: {} {text}",
                    r.status
                );
            }
            if operator_route && method == "post" {
                // tenant creation: an invitation, which is not a credential
                let invitation = r.str("/admin_invitation/invitation").unwrap();
                assert_eq!(h.client(invitation).get("/api/v1/channels").await.status, 401);
            }
        }
    }
    assert!(walked > 40, "the walk covered {walked} routes");

    // the CLI on the same data directory
    let bin = Path::new(env!("CARGO_BIN_EXE_hoheit"));
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .env("HOHEIT_DATA_DIR", dir.path())
            .env("HOHEIT_LOG__LEVEL", "error")
            .output()
            .unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let tid = t.id.as_str();
    for args in [
        vec!["tenant", "list"],
        vec!["tenant", "create", "--name", "CLI GmbH", "--invite-dpo"],
        vec!["tenant", "break-glass", "--tenant", tid, "--reason", "lost_admin"],
        vec!["token", "list"],
        vec!["token", "list", "--tenant", tid],
        vec!["retention", "run", "--tenant", tid, "--dry-run"],
        vec!["audit", "verify"],
        vec!["audit", "checkpoint", "--tenant", tid],
        vec!["records-of-processing", "--tenant", tid],
        vec!["records-of-processing", "--tenant", tid, "--format", "markdown"],
        vec!["privacy-notice", "--tenant", tid],
        vec!["subject-requests", "due", "--tenant", tid],
        vec!["openapi"],
    ] {
        let (_, out) = cli(&args);
        assert_eq!(forbidden_text(&out), None, "hoheit {}: {out}", args.join(" "));
    }
    let (ok, out) = cli(&["audit", "verify"]);
    assert!(ok && out.contains("platform: OK"), "{out}");
    for role in ["admin", "dpo", "recruiter"] {
        let (ok, out) = cli(&["token", "create", "--tenant", tid, "--role", role]);
        assert!(!ok && !out.contains("hoh_"), "the operator minted a {role} credential: {out}");
        let (ok, out) = cli(&["token", "create", "--role", role]);
        assert!(!ok && !out.contains("hoh_"), "{out}");
    }
    // an operator token: shown once, audited in the platform chain, revocable by the CLI
    let (ok, out) = cli(&["token", "create", "--role", "operator", "--label", "walk"]);
    assert!(ok && out.contains("hoh_"), "{out}");
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    let (ok, out) = cli(&["token", "revoke", "--id", &id]);
    assert!(ok, "{out}");
    let entries = h.state.platform.verify_platform_audit(&h.state.signer.public_key()).await.unwrap().unwrap();
    assert!(entries.entries_verified >= 2, "{entries:?}");
    // the break-glass invitation is visible to the tenant's DPO and in its chain
    let inv = t.dpo.get("/api/v1/invitations").await;
    assert!(
        inv.json.as_array().unwrap().iter().any(|i| i["origin"] == "break_glass" && i["reason"] == "lost_admin"),
        "{:?}",
        inv.json
    );
    let entries = audit_entries(&t.dpo).await;
    assert!(has(&entries, "invitation.issued", "break_glass_reason", "lost_admin"));
    let _ = NAME;
    h.stop().await;
}
