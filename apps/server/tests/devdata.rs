//! `hoheit demo` leaves a development tenant with sample conversations in the configured
//! database (issue 17 item 7), once: a newcomer who ran the demo sees a populated inbox with
//! `hoheit serve --dev`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use hoheit_domain::tenant::Role;
use hoheit_server::devdata::{DEV_TENANT, leave};
use hoheit_server::harness::{Harness, HarnessOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_leaves_one_populated_dev_tenant_in_the_configured_database() {
    let data = tempfile::tempdir().unwrap();
    let links = "http://127.0.0.1:8080";
    let first = leave(HarnessOptions::new(data.path().to_owned()), links).await.unwrap();
    let text = first.join("\n");
    assert!(text.contains("hoheit serve --dev"), "{text}");
    assert!(text.contains("sample data: an approved WhatsApp number and four conversations"), "{text}");
    for role in ["admin", "dpo", "recruiter"] {
        assert!(
            first
                .iter()
                .any(|l| l.trim().starts_with(&format!("{role}:")) && l.contains(&format!("{links}/invitation/"))),
            "a {role} sign-in link for where `serve --dev` listens: {text}"
        );
    }
    // a second demo leaves it as it is
    let second = leave(HarnessOptions::new(data.path().to_owned()), links).await.unwrap().join("\n");
    assert!(second.contains("already") && !second.contains("/invitation/"), "{second}");

    let h = Harness::start(HarnessOptions::new(data.path().to_owned())).await.unwrap();
    let tenants = h.state.queries.tenants().await.unwrap();
    let dev: Vec<_> = tenants.iter().filter(|t| t.name == DEV_TENANT).collect();
    assert_eq!(dev.len(), 1, "one development tenant");
    let recruiter = h.client(&h.token(Some(dev[0].id), Role::Recruiter).await.unwrap());
    let listed = recruiter.get("/api/v1/candidates").await;
    assert_eq!(listed.status, 200);
    let candidates = listed.json["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 4, "{candidates:?}");
    let objected = candidates.iter().filter(|c| c["objected"] == true).count();
    assert_eq!(objected, 1, "Jana Probe objected in her own words: {candidates:?}");
    h.stop().await;
}
