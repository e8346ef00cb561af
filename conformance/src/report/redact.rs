//! Secret values never reach a report or an artifact.

/// Replaces every non-trivial secret in `text` with `[redacted]`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    let mut secrets: Vec<&String> = secrets.iter().filter(|s| s.len() >= 6).collect();
    // Longest first, so a secret that contains another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        out = out.replace(secret.as_str(), "[redacted]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_longest_first() {
        let secrets = vec![
            "Bearer abcdef.ghijk".to_string(),
            "abcdef.ghijk".to_string(),
            "xy".to_string(),
        ];
        let text = "auth=Bearer abcdef.ghijk jwt=abcdef.ghijk short=xy";
        assert_eq!(redact(text, &secrets), "auth=[redacted] jwt=[redacted] short=xy");
    }
}
