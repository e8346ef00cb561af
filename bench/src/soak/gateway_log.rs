//! What the gateway logged during the soak: its WARN and ERROR lines, counted, the first quoted
//! (a soak without errors on the wire can still have the gateway complaining).

/// Warnings and errors in the gateway's JSON log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogSummary {
    /// Lines in the log.
    pub lines: usize,
    /// WARN lines.
    pub warnings: usize,
    /// ERROR lines.
    pub errors: usize,
    /// The first WARN and ERROR lines, shortened.
    pub examples: Vec<String>,
}

/// How many warning and error lines the report quotes.
const LOG_EXAMPLES: usize = 10;

/// Counts the WARN and ERROR lines of a JSON log and keeps the first few.
pub fn summarise(lines: &[String]) -> LogSummary {
    let mut summary = LogSummary {
        lines: lines.len(),
        ..LogSummary::default()
    };
    for line in lines {
        let warning = line.contains("\"level\":\"WARN\"");
        let error = line.contains("\"level\":\"ERROR\"");
        summary.warnings += usize::from(warning);
        summary.errors += usize::from(error);
        if (warning || error) && summary.examples.len() < LOG_EXAMPLES {
            summary.examples.push(line.chars().take(500).collect());
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_and_errors_of_the_log_are_counted() {
        let lines: Vec<String> = [
            r#"{"level":"INFO","fields":{"message":"ready"}}"#,
            r#"{"level":"WARN","fields":{"message":"slow"}}"#,
            r#"{"level":"ERROR","fields":{"message":"broken"}}"#,
        ]
        .map(str::to_owned)
        .to_vec();
        let summary = summarise(&lines);
        assert_eq!((summary.lines, summary.warnings, summary.errors), (3, 1, 1));
        assert_eq!(summary.examples.len(), 2);
    }
}
