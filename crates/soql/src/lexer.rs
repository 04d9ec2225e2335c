//! Tokens of SOQL, recognised with winnow. Keywords are not distinguished here (they are
//! case-insensitive identifiers the parser recognises by position, because words such as
//! `Order` and `Group` are also object names).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use winnow::ascii::{digit1, multispace0};
use winnow::combinator::{alt, opt, preceded};
use winnow::error::{ContextError, ErrMode};
use winnow::prelude::*;
use winnow::token::{any, one_of, take_while};

use crate::ast::Span;
use crate::error::{ErrorCode, SoqlError};

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str {
        value: String,
        raw: String,
    },
    Int(i64),
    Double(f64),
    Date(NaiveDate),
    DateTime(DateTime<FixedOffset>),
    Comma,
    Dot,
    LParen,
    RParen,
    Colon,
    /// `=`, `!=`, `<>`, `<`, `<=`, `>`, `>=` as written.
    Op(&'static str),
    Eof,
    /// Text the lexer could not read; the parser reports it only if it gets this far, so
    /// `'O'Brien'` fails at `Brien` as in Salesforce, not at the dangling quote.
    Error(Box<SoqlError>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

type PResult<T> = winnow::ModalResult<T>;

fn ident(i: &mut &str) -> PResult<Tok> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .map(|s: &str| Tok::Ident(s.to_string()))
        .parse_next(i)
}

fn fixed_digits<'a>(n: usize) -> impl Parser<&'a str, u32, ErrMode<ContextError>> {
    take_while(n, |c: char| c.is_ascii_digit()).try_map(str::parse::<u32>)
}

/// `Z`, `+hh:mm`, `-hh:mm`, `+hhmm`.
fn offset(i: &mut &str) -> PResult<FixedOffset> {
    alt((
        one_of(['Z', 'z']).map(|_| 0i32),
        (
            one_of(['+', '-']),
            fixed_digits(2),
            opt(':'),
            fixed_digits(2),
        )
            .map(|(sign, h, _, m)| {
                let secs = (h * 3600 + m * 60) as i32;
                if sign == '-' { -secs } else { secs }
            }),
    ))
    .verify_map(FixedOffset::east_opt)
    .parse_next(i)
}

/// `2005-10-08` or `2005-10-08T23:01:01[.000](Z|±hh:mm)`.
fn date_or_datetime(i: &mut &str) -> PResult<Tok> {
    let date = (fixed_digits(4), '-', fixed_digits(2), '-', fixed_digits(2))
        .verify_map(|(y, _, m, _, d)| NaiveDate::from_ymd_opt(y as i32, m, d))
        .parse_next(i)?;
    let time = opt(preceded(
        one_of(['T', 't']),
        (
            fixed_digits(2),
            ':',
            fixed_digits(2),
            ':',
            fixed_digits(2),
            opt(preceded(
                '.',
                take_while(1..=9, |c: char| c.is_ascii_digit()),
            )),
            offset,
        ),
    ))
    .parse_next(i)?;
    let Some((h, _, mi, _, s, frac, off)) = time else {
        return Ok(Tok::Date(date));
    };
    let nanos = match frac {
        Some(f) => format!("{f:0<9}").parse::<u32>().unwrap_or(0),
        None => 0,
    };
    let naive = date
        .and_hms_nano_opt(h, mi, s, nanos)
        .ok_or_else(|| ErrMode::Cut(ContextError::new()))?;
    let dt = NaiveDateTime::and_local_timezone(&naive, off)
        .single()
        .ok_or_else(|| ErrMode::Cut(ContextError::new()))?;
    Ok(Tok::DateTime(dt))
}

fn number(i: &mut &str) -> PResult<Tok> {
    let text = (opt(one_of(['-', '+'])), digit1, opt(('.', digit1)))
        .take()
        .parse_next(i)?;
    if !text.contains('.')
        && let Ok(n) = text.parse::<i64>()
    {
        return Ok(Tok::Int(n));
    }
    text.parse::<f64>()
        .map(Tok::Double)
        .map_err(|_| ErrMode::Backtrack(ContextError::new()))
}

/// A quoted string with Salesforce's escapes. `\%` and `\_` decode to `%`/`_` in `value`; `raw`
/// keeps them for LIKE.
fn string(i: &mut &str) -> PResult<Tok> {
    '\''.parse_next(i)?;
    let start = *i;
    let mut value = String::new();
    loop {
        let c = any
            .parse_next(i)
            .map_err(|_: ErrMode<ContextError>| ErrMode::Cut(ContextError::new()))?;
        match c {
            '\'' => break,
            '\\' => {
                let e = any
                    .parse_next(i)
                    .map_err(|_: ErrMode<ContextError>| ErrMode::Cut(ContextError::new()))?;
                let decoded = match e {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'u' => {
                        let hex = take_while(4, |c: char| c.is_ascii_hexdigit()).parse_next(i)?;
                        u32::from_str_radix(hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| ErrMode::Cut(ContextError::new()))?
                    }
                    '\'' | '"' | '\\' | '%' | '_' => e,
                    _ => return Err(ErrMode::Cut(ContextError::new())),
                };
                value.push(decoded);
            }
            c => value.push(c),
        }
    }
    let raw = &start[..start.len() - i.len() - 1];
    Ok(Tok::Str {
        value,
        raw: raw.to_string(),
    })
}

fn punct(i: &mut &str) -> PResult<Tok> {
    alt((
        "<=".value(Tok::Op("<=")),
        ">=".value(Tok::Op(">=")),
        "!=".value(Tok::Op("!=")),
        "<>".value(Tok::Op("<>")),
        "=".value(Tok::Op("=")),
        "<".value(Tok::Op("<")),
        ">".value(Tok::Op(">")),
        ','.value(Tok::Comma),
        '.'.value(Tok::Dot),
        '('.value(Tok::LParen),
        ')'.value(Tok::RParen),
        ':'.value(Tok::Colon),
    ))
    .parse_next(i)
}

fn token(i: &mut &str) -> PResult<Tok> {
    alt((ident, date_or_datetime, number, string, punct)).parse_next(i)
}

/// Splits the whole text into tokens, ending with [`Tok::Eof`] or [`Tok::Error`].
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let mut input = text;
    let mut out = Vec::new();
    loop {
        let _ = multispace0::<_, ErrMode<ContextError>>.parse_next(&mut input);
        let start = text.len() - input.len();
        if input.is_empty() {
            out.push(Token {
                tok: Tok::Eof,
                span: Span { start, end: start },
            });
            return out;
        }
        let before = input;
        match token.parse_next(&mut input) {
            Ok(tok) => {
                let end = text.len() - input.len();
                out.push(Token {
                    tok,
                    span: Span { start, end },
                });
            }
            Err(_) => {
                let c = before.chars().next().unwrap_or(' ');
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                let line = text[..start].matches('\n').count() + 1;
                let col = text[line_start..start].chars().count();
                let detail = if c == '\'' {
                    format!("line {line}:{col} mismatched character '<EOF>' expecting '''")
                } else {
                    format!("line {line}:{col} no viable alternative at character '{c}'")
                };
                let err = SoqlError::at(ErrorCode::MalformedQuery, text, start, detail);
                out.push(Token {
                    tok: Tok::Error(Box::new(err)),
                    span: Span { start, end: start },
                });
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn literals() {
        assert_eq!(
            toks("-12 3.5"),
            vec![Tok::Int(-12), Tok::Double(3.5), Tok::Eof]
        );
        assert!(matches!(toks("2005-10-08")[0], Tok::Date(_)));
        for dt in [
            "1999-01-01T23:01:01Z",
            "1999-01-01T23:01:01+01:00",
            "1999-01-01T23:01:01-08:00",
            "2024-01-01T00:00:00.000Z",
            "2024-01-01T00:00:00.5+0530",
        ] {
            assert!(matches!(toks(dt)[0], Tok::DateTime(_)), "{dt}");
        }
        let Tok::DateTime(d) = &toks("1999-01-01T23:01:01-08:00")[0] else {
            panic!()
        };
        assert_eq!(d.to_utc().to_rfc3339(), "1999-01-02T07:01:01+00:00");
    }

    #[test]
    fn strings_and_escapes() {
        let t = toks(r"'it\'s \\ \n \% x'");
        assert_eq!(
            t[0],
            Tok::Str {
                value: "it's \\ \n % x".into(),
                raw: r"it\'s \\ \n \% x".into()
            }
        );
        assert!(matches!(toks("'open").last(), Some(Tok::Error(_))));
        assert!(matches!(toks(r"'bad \q'").last(), Some(Tok::Error(_))));
    }

    #[test]
    fn operators_and_spans() {
        let t = tokenize("a<=b <> c");
        assert_eq!(t[1].tok, Tok::Op("<="));
        assert_eq!(t[1].span, Span { start: 1, end: 3 });
        assert_eq!(t[3].tok, Tok::Op("<>"));
        let Some(Tok::Error(e)) = toks("SELECT \"x\"").pop() else {
            panic!()
        };
        assert_eq!(e.code, ErrorCode::MalformedQuery);
        assert!(e.message.contains("Column:8"));
    }
}
