//! The webhook parser must return Ok or a typed error for any bytes, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = hoheit_dialog360::webhook::parse_webhook(data) {
        // Debug output must work for anything parsed (and hides personal data).
        let _ = format!("{parsed:?}");
    }
});
