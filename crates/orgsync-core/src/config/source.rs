//! Turning config files into one TOML tree: `${ENV}` substitution on the raw text, parsing with
//! spans, the profile overlay merged table-wise, and mapping a span back to `file:line:column`.
//!
//! Each file is parsed from a copy padded with leading spaces so that every span in the merged
//! tree is an offset into one virtual buffer; the offset alone says which file and line an error
//! belongs to, even after the overlay has mixed values from both files.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigError;

/// One loaded file: its display name, its text after substitution, and where it starts in the
/// virtual buffer.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub name: String,
    pub text: String,
    pub offset: usize,
}

/// All files of one configuration, in overlay order (base first).
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    pub files: Vec<SourceFile>,
}

/// A resolved position for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file's name as given by the caller.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl Sources {
    /// Add a file (already substituted); returns its padded text for parsing.
    pub fn push(&mut self, name: &str, text: String) -> String {
        let offset = self.files.last().map_or(0, |f| f.offset + f.text.len() + 1);
        let padded = format!("{}{}", " ".repeat(offset), text);
        self.files.push(SourceFile {
            name: name.to_string(),
            text,
            offset,
        });
        padded
    }

    /// Where a byte offset of the virtual buffer is.
    pub fn locate(&self, pos: usize) -> Option<Location> {
        let file = self.files.iter().rev().find(|f| pos >= f.offset)?;
        let local = (pos - file.offset).min(file.text.len());
        let before = file.text.get(..local)?;
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Some(Location {
            file: file.name.clone(),
            line,
            column,
        })
    }

    /// An error at a span (or, without one, at the first file).
    pub fn error(&self, span: Option<Range<usize>>, problem: String, fix: &str) -> ConfigError {
        let loc = span.and_then(|s| self.locate(s.start));
        let file = loc
            .as_ref()
            .map(|l| l.file.clone())
            .or_else(|| self.files.first().map(|f| f.name.clone()))
            .unwrap_or_default();
        ConfigError::at(file, loc.map(|l| (l.line, l.column)), problem, fix)
    }
}

/// Replace `${NAME}` with the environment variable's value (`$${` writes a literal `${`).
/// Inside a basic string the value is escaped so quotes, backslashes and newlines cannot break
/// the TOML; in a literal string a value containing `'` or a newline is refused. Text after a
/// `#` comment is left alone, so comments may mention variables that are not set.
pub(crate) fn substitute_env(
    name: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        let mut quote: Option<char> = None;
        let mut rest = line;
        while let Some(c) = rest.chars().next() {
            if quote.is_none() && c == '#' {
                out.push_str(rest);
                break;
            }
            if rest.starts_with("$${") {
                out.push_str("${");
                rest = &rest[3..];
                continue;
            }
            if let Some(after) = rest.strip_prefix("${") {
                let Some(end) = after.find('}') else {
                    return Err(ConfigError::at(
                        name.to_string(),
                        Some((idx + 1, line.len() - rest.len() + 1)),
                        "unterminated `${` in an environment variable reference".into(),
                        "close it as ${NAME}, or write $${ for a literal `${`",
                    ));
                };
                let var = &after[..end];
                let col = line.len() - rest.len() + 1;
                let value = lookup(var).ok_or_else(|| {
                    ConfigError::at(
                        name.to_string(),
                        Some((idx + 1, col)),
                        format!("environment variable `{var}` is not set"),
                        &format!("export {var}=… before starting orgsync, or remove the reference"),
                    )
                })?;
                match quote {
                    Some('"') => {
                        for ch in value.chars() {
                            match ch {
                                '"' => out.push_str("\\\""),
                                '\\' => out.push_str("\\\\"),
                                '\n' => out.push_str("\\n"),
                                '\r' => out.push_str("\\r"),
                                '\t' => out.push_str("\\t"),
                                c => out.push(c),
                            }
                        }
                    }
                    _ if value.contains(['\'', '\n', '\r']) => {
                        return Err(ConfigError::at(
                            name.to_string(),
                            Some((idx + 1, col)),
                            format!("environment variable `{var}` contains a quote or newline"),
                            "put the reference inside a double-quoted string: \"${NAME}\"",
                        ));
                    }
                    _ => out.push_str(&value),
                }
                rest = &after[end + 1..];
                continue;
            }
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') => {
                    // keep the escaped character with its backslash
                    out.push('\\');
                    rest = &rest[1..];
                    if let Some(n) = rest.chars().next() {
                        out.push(n);
                        rest = &rest[n.len_utf8()..];
                    }
                    continue;
                }
                _ => {}
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(out)
}

/// Parse one padded file into a spanned table.
pub(crate) fn parse<'i>(
    sources: &Sources,
    padded: &'i str,
) -> Result<Spanned<DeTable<'i>>, ConfigError> {
    DeTable::parse(padded).map_err(|e| {
        sources.error(
            e.span(),
            format!("not valid TOML: {}", e.message().trim_end()),
            "fix the syntax at this position (strings need quotes, tables [name], arrays [a, b])",
        )
    })
}

/// Overlay `top` onto `base`: tables merge key by key, any other value (arrays included, so a
/// profile's `[[sync]]` list replaces the base list) replaces the base value.
pub(crate) fn merge<'i>(base: &mut DeTable<'i>, top: DeTable<'i>) {
    for (key, value) in top {
        match base.remove(&key) {
            Some(old) => {
                let (old_span, old_inner) = (old.span(), old.into_inner());
                let value_span = value.span();
                match (old_inner, value.into_inner()) {
                    (DeValue::Table(mut b), DeValue::Table(t)) => {
                        merge(&mut b, t);
                        base.insert(key, Spanned::new(old_span, DeValue::Table(b)));
                    }
                    (_, v) => {
                        base.insert(key, Spanned::new(value_span, v));
                    }
                }
            }
            None => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        match var {
            "SECRET" => Some("s3\"cr\\et".into()),
            "PORT" => Some("8686".into()),
            "Q" => Some("it's".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_inside_strings_with_escaping_and_outside_raw() {
        let t = "a = \"x${SECRET}y\"\nb = ${PORT}\n# ${NOPE} in a comment\nc = \"$${LIT}\"\n";
        let out = substitute_env("f.toml", t, &env).unwrap();
        assert_eq!(
            out,
            "a = \"xs3\\\"cr\\\\ety\"\nb = 8686\n# ${NOPE} in a comment\nc = \"${LIT}\"\n"
        );
        let parsed: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(parsed["a"].as_str(), Some("xs3\"cr\\ety"));
    }

    #[test]
    fn missing_variable_names_file_line_and_variable() {
        let err = substitute_env("orgsync.toml", "a = 1\nb = \"${NOPE}\"\n", &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "orgsync.toml:2:6: environment variable `NOPE` is not set\n  fix: export NOPE=… before starting orgsync, or remove the reference"
        );
    }

    #[test]
    fn quote_in_literal_string_is_refused() {
        let err = substitute_env("f.toml", "a = '${Q}'\n", &env).unwrap_err();
        assert!(err.to_string().contains("contains a quote"), "{err}");
    }

    #[test]
    fn locate_maps_offsets_to_the_right_file() {
        let mut s = Sources::default();
        let a = s.push("a.toml", "x = 1\ny = 2".into());
        let b = s.push("b.toml", "z = 3".into());
        assert_eq!(
            s.locate(a.find('y').unwrap()).unwrap(),
            Location {
                file: "a.toml".into(),
                line: 2,
                column: 1
            }
        );
        assert_eq!(
            s.locate(b.find('3').unwrap()).unwrap(),
            Location {
                file: "b.toml".into(),
                line: 1,
                column: 5
            }
        );
    }
}
