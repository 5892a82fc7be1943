//! contextd demo (placeholder until the examples issue lands).
fn main() {}
