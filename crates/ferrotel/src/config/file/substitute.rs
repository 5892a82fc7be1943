//! Environment substitution in configuration-file values, as the declarative configuration
//! spec defines it: `${VAR}`, `${env:VAR}`, `${VAR:-default}` and `$$` for a literal `$`. A
//! reference to an unset (or empty) variable without a default becomes the empty string. The
//! result is not scanned again, so a variable's value cannot contain further references.

use crate::config::EnvSource;

/// Longest value a substitution may produce; a longer one is an error (an environment value
/// cannot blow up start-up).
pub(crate) const MAX_SUBSTITUTED_BYTES: usize = 64 * 1024;

/// Substitutes every reference in `text`. Invalid syntax (an unclosed `${`, a bad variable
/// name) is an error naming what was wrong.
pub(crate) fn substitute(text: &str, env: &dyn EnvSource) -> Result<String, String> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Err(format!("unclosed `${{` in {:?}", shown(text)));
            };
            let reference = &body[..end];
            let (name, default) = match reference.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (reference, None),
            };
            let name = name.strip_prefix("env:").unwrap_or(name);
            if !is_variable_name(name) {
                return Err(format!(
                    "`${{{}}}` is not a valid reference (a name of letters, digits and `_`, not starting with a digit; optionally `env:` before it and `:-default` after it)",
                    shown(reference)
                ));
            }
            match env.get(name) {
                Some(value) => out.push_str(&value),
                None => out.push_str(default.unwrap_or("")),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
        if out.len() > MAX_SUBSTITUTED_BYTES {
            return Err(format!(
                "the substituted value is longer than {MAX_SUBSTITUTED_BYTES} bytes"
            ));
        }
    }
    out.push_str(rest);
    if out.len() > MAX_SUBSTITUTED_BYTES {
        return Err(format!(
            "the substituted value is longer than {MAX_SUBSTITUTED_BYTES} bytes"
        ));
    }
    Ok(out)
}

fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn shown(text: &str) -> &str {
    crate::limits::cut(text, 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(text: &str) -> Result<String, String> {
        let env = |name: &str| match name {
            "HOST" => Some("collector".to_owned()),
            "EMPTY" => Some(String::new()),
            "REF" => Some("${HOST}".to_owned()),
            _ => None,
        };
        substitute(text, &env)
    }

    #[test]
    fn the_spec_forms() {
        assert_eq!(sub("http://${HOST}:4318").unwrap(), "http://collector:4318");
        assert_eq!(sub("${env:HOST}").unwrap(), "collector");
        assert_eq!(sub("${UNSET:-fallback}").unwrap(), "fallback");
        assert_eq!(sub("${EMPTY:-fallback}").unwrap(), "fallback");
        assert_eq!(sub("${UNSET}").unwrap(), "");
        assert_eq!(sub("${HOST:-x}").unwrap(), "collector");
        assert_eq!(sub("a:${UNSET:-http://h:1/v1}").unwrap(), "a:http://h:1/v1");
    }

    #[test]
    fn escapes_and_no_rescanning() {
        assert_eq!(sub("$${HOST}").unwrap(), "${HOST}");
        assert_eq!(sub("$$$${HOST}").unwrap(), "$${HOST}");
        assert_eq!(sub("$$${HOST}").unwrap(), "$collector");
        assert_eq!(sub("${REF}").unwrap(), "${HOST}");
        assert_eq!(sub("cost $5").unwrap(), "cost $5");
        assert_eq!(sub("trailing $").unwrap(), "trailing $");
    }

    #[test]
    fn invalid_references_are_errors() {
        for bad in [
            "${", "${HOST", "${1X}", "${A-B}", "${}", "${env:}", "${ HOST}",
        ] {
            assert!(sub(bad).is_err(), "{bad}");
        }
    }
}
