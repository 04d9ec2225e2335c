//! Turning results into what the user sees: error reports with the right exit code, and the
//! small table formatter `status` and `demo` share.

use std::process::ExitCode;

use orgsync_core::ConfigError;

/// Exit code for a configuration error.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code for a failed check or run.
pub const EXIT_FAILED: u8 = 1;

/// Print an error on stderr and choose the exit code: 2 for configuration errors (printed
/// problem by problem, each with its file:line and fix), 1 for everything else.
pub fn report_error(e: &anyhow::Error) -> ExitCode {
    if let Some(c) = e.downcast_ref::<ConfigError>() {
        print_config_error(c);
        return ExitCode::from(EXIT_CONFIG);
    }
    eprintln!("error: {e:#}");
    ExitCode::from(EXIT_FAILED)
}

/// Print every problem of a configuration error on stderr.
pub fn print_config_error(c: &ConfigError) {
    let n = c.problems.len();
    eprintln!(
        "error: the configuration has {n} problem{}:",
        if n == 1 { "" } else { "s" }
    );
    for p in &c.problems {
        eprintln!("{p}");
    }
}

/// A plain-text table: a header row and rows, columns padded to their widest cell.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Table {
            rows: vec![header.iter().map(|s| s.to_string()).collect()],
        }
    }

    /// Append a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Render with two spaces between columns, `indent` before each line.
    pub fn render(&self, indent: &str) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for r in &self.rows {
            let mut line = String::from(indent);
            for (c, cell) in r.iter().enumerate() {
                if c + 1 == r.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `2026-11-22 12:34:56Z`, or `-`.
pub fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "-".into(),
        |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string(),
    )
}
