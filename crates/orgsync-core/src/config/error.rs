//! Configuration errors: every problem with its file, line:column and what to do.

use std::fmt;

/// One problem in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File name as given.
    pub file: String,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub problem: String,
    /// What to do.
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((l, c)) => write!(
                f,
                "{}:{l}:{c}: {}\n  fix: {}",
                self.file, self.problem, self.fix
            ),
            None => write!(f, "{}: {}\n  fix: {}", self.file, self.problem, self.fix),
        }
    }
}

/// Every problem found in a configuration (at least one). The CLI prints it and exits with 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// In file order.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub(crate) fn at(
        file: String,
        position: Option<(usize, usize)>,
        problem: String,
        fix: &str,
    ) -> Self {
        ConfigError {
            problems: vec![Problem {
                file,
                position,
                problem,
                fix: fix.to_string(),
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
