//! Regression from the fuzzer: redacting the output again changes nothing.
use ferrotel_redaction::Redactor;

#[test]
fn authorization_after_a_credential_pair_is_stable() {
    let text = "oiru\u{1}\0\0: Bear\u{1}Authorization: Bearer token:Bea\"r\u{1}Aation\u{fffd}\u{7fd}\u{fffd}arer : Bearer tokenBearer ab0 Bae\0";
    let r = Redactor::default();
    let once = r.redact(text).into_owned();
    let twice = r.redact(&once).into_owned();
    assert_eq!(once, twice);
}
