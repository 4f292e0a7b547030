//! The composer's PDF attachment (issue 17 item 4: "documents (PDF) attachable" in the open
//! window) over HTTP: a PDF within the server's media limit goes to the provider as a document
//! and shows in the thread; anything else is refused in words before anything is uploaded (not
//! a PDF, too large, no CSRF token, the window closed), and nothing reaches the provider.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::web::{Session, by_id};
use common::*;
use hoheit_server::harness::{HarnessOptions, eventually};

const WAIT: Duration = Duration::from_secs(20);

/// A multipart post of the document form.
async fn post_document(s: &Session, c: &str, csrf: bool, name: &str, bytes: Vec<u8>) -> (u16, String) {
    // in the order a browser sends the form's fields: the token (a hidden input) first
    let mut form = reqwest::multipart::Form::new();
    if csrf {
        form = form.text("csrf_token", s.csrf.clone());
    }
    let form = form
        .part("document", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()))
        .text("caption", "Ihre Einladung");
    let r = s
        .http
        .post(format!("{}/inbox/{c}/document", s.base))
        .header("cookie", &s.cookie)
        .header("origin", &s.base)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn pdf(size: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    bytes.resize(size, b' ');
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_goes_out_in_the_window_and_everything_else_is_refused_in_words() {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.env.push(("HOHEIT_MEDIA__MAX_BYTES".into(), "20000".into()));
    let (h, _dir) = start(options).await;
    let (t, c) = consenting(&h).await;
    let rita = Session::staff(&h, &t, "recruiter", "rita@docs.example").await;

    // the window is closed (the candidate has not written): no document form, and a post is refused
    let thread = rita.get(&format!("/inbox/{c}")).await;
    assert!(!thread.html.contains("compose-document"), "no document before the window opens");
    let (status, html) = post_document(&rita, &c, true, "einladung.pdf", pdf(1000)).await;
    assert_eq!(status, 409, "{html}");
    assert!(by_id(&html, "form-error").unwrap().contains("(Code: "), "{html}");

    // the candidate writes: the form is there, with the limit in words
    assert_eq!(candidate_writes(&h, &t, "wamid.docs-1", "Können Sie mir die Einladung schicken?").await, 200);
    let thread = rita.get(&format!("/inbox/{c}")).await;
    assert!(thread.html.contains("id=\"compose-document\""), "{}", thread.html);
    assert_eq!(by_id(&thread.html, "document-hint").as_deref(), Some("Nur PDF, höchstens 20 KB."));

    // refused in words: no token, not a PDF (whatever its name), too large (by the server's
    // limit, and a body twenty times over it, which is read to its end and answered in words)
    assert_eq!(post_document(&rita, &c, false, "einladung.pdf", pdf(1000)).await.0, 403);
    let (status, html) = post_document(&rita, &c, true, "einladung.pdf", b"<html>kein PDF</html>".to_vec()).await;
    assert_eq!(status, 422);
    assert_eq!(by_id(&html, "form-error").as_deref(), Some("Bitte wählen Sie eine PDF-Datei."));
    for size in [20_001, 400_000] {
        let (status, html) = post_document(&rita, &c, true, "einladung.pdf", pdf(size)).await;
        assert_eq!(status, 422, "{size}");
        let error = by_id(&html, "form-error").unwrap();
        assert_eq!(error, "Die Datei ist größer als erlaubt, höchstens 20 KB.", "{size}");
    }
    assert!(h.sim.accepted_messages().is_empty(), "nothing refused reached the provider");

    // a PDF within the limit: queued, sent as a document, shown in the thread
    let (status, _) = post_document(&rita, &c, true, "einladung.pdf", pdf(5000)).await;
    assert_eq!(status, 303);
    let sent =
        eventually(WAIT, || async { h.sim.accepted_messages().iter().any(|m| m.body["type"] == "document") }).await;
    assert!(sent, "{:?}", h.sim.accepted_messages());
    let thread = rita.get(&format!("/inbox/{c}")).await;
    assert!(by_id(&thread.html, "thread").unwrap().contains("einladung.pdf"), "{}", thread.html);
}
