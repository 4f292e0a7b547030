//! The verifier must never panic and must accept only a correctly signed body. The input is
//! split into a secret-header value, a signature header and the body.
#![no_main]

use hoheit_dialog360::webhook::{SIGNATURE_HEADER, WebhookVerifier, sign};
use hoheit_dialog360::{SecretSlice, SecretString};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"fuzz-hmac-key";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let secret = parts.next().unwrap_or_default();
    let signature = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let verifier = WebhookVerifier::new()
        .with_secret_header("x-secret", SecretString::from("expected"))
        .with_hmac(SecretSlice::from(KEY.to_vec()));
    let header = |name: &str| match name {
        "x-secret" => Some(secret),
        n if n == SIGNATURE_HEADER => Some(signature),
        _ => None,
    };
    let accepted = verifier.verify_with(header, body).is_ok();
    if accepted {
        assert_eq!(secret, b"expected");
        let expected = sign(KEY, body);
        let given = std::str::from_utf8(signature).unwrap_or_default().trim();
        let given = match given.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => given.get(7..).unwrap_or_default(),
            _ => given,
        };
        assert!(given.eq_ignore_ascii_case(&expected));
    }
});
