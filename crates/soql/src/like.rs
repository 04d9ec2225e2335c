//! `LIKE` patterns: `%` any run, `_` any one character, `\%` / `\_` literal, case-insensitive.
//! Matching walks the text in place (no allocation per row) with the classic single-backtrack
//! wildcard algorithm, which is linear for patterns with one `%` and O(n·m) at worst.

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// A literal character, case-folded.
    Char(char),
    /// `_`
    One,
    /// `%`
    Any,
}

/// A compiled LIKE pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LikePattern {
    pieces: Vec<Piece>,
}

/// Simple case folding of one character (multi-char lowercase forms keep the original).
pub(crate) fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(a), None) => a,
        _ => c,
    }
}

impl LikePattern {
    /// Compiles the raw text between the quotes (escapes still in place).
    pub(crate) fn new(raw: &str) -> Self {
        let mut pieces = Vec::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            let piece = match c {
                '%' => Piece::Any,
                '_' => Piece::One,
                '\\' => match chars.next() {
                    Some('n') => Piece::Char('\n'),
                    Some('r') => Piece::Char('\r'),
                    Some('t') => Piece::Char('\t'),
                    Some('b') => Piece::Char('\u{8}'),
                    Some('f') => Piece::Char('\u{c}'),
                    Some(e) => Piece::Char(fold(e)),
                    None => Piece::Char('\\'),
                },
                c => Piece::Char(fold(c)),
            };
            // Collapse runs of `%`: they mean the same and would only slow backtracking.
            if !(piece == Piece::Any && pieces.last() == Some(&Piece::Any)) {
                pieces.push(piece);
            }
        }
        LikePattern { pieces }
    }

    /// Whether `s` matches the whole pattern.
    pub(crate) fn matches(&self, s: &str) -> bool {
        let p = &self.pieces;
        let (mut pi, mut si) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        loop {
            if let Some(piece) = p.get(pi) {
                let next = s[si..].chars().next();
                match (piece, next) {
                    (Piece::Any, _) => {
                        star = Some((pi + 1, si));
                        pi += 1;
                        continue;
                    }
                    (Piece::One, Some(c)) => {
                        si += c.len_utf8();
                        pi += 1;
                        continue;
                    }
                    (Piece::Char(pc), Some(c)) if fold(c) == *pc => {
                        si += c.len_utf8();
                        pi += 1;
                        continue;
                    }
                    _ => {}
                }
            } else if si == s.len() {
                return true;
            }
            // Mismatch: let the last `%` swallow one more character.
            match star {
                Some((sp, ss)) => match s[ss..].chars().next() {
                    Some(c) => {
                        let ns = ss + c.len_utf8();
                        star = Some((sp, ns));
                        pi = sp;
                        si = ns;
                    }
                    None => return false,
                },
                None => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Obviously-correct recursive matcher used as the oracle.
    fn reference(p: &[Piece], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((Piece::Any, rest)) => (0..=s.len()).any(|k| reference(rest, &s[k..])),
            Some((Piece::One, rest)) => !s.is_empty() && reference(rest, &s[1..]),
            Some((Piece::Char(c), rest)) => {
                s.first().is_some_and(|x| fold(*x) == *c) && reference(rest, &s[1..])
            }
        }
    }

    #[test]
    fn basics() {
        let m = |p: &str, s: &str| LikePattern::new(p).matches(s);
        assert!(m("a%", "Acme"));
        assert!(m("%ME", "acme"));
        assert!(m("a_me", "ACME"));
        assert!(!m("a_me", "acmee"));
        assert!(m("%", ""));
        assert!(!m("_", ""));
        assert!(m(r"100\%", "100%"));
        assert!(!m(r"100\%", "1000"));
        assert!(m(r"a\_b", "a_b"));
        assert!(!m(r"a\_b", "axb"));
        assert!(m("%b%c%", "aXbYYcZ"));
        assert!(m("ÉCOLE%", "école normale"));
        assert!(m(r"it\'s", "It's"));
    }

    proptest! {
        #[test]
        fn agrees_with_reference(p in "[ab%_\\\\]{0,8}", s in "[abAB_%]{0,10}") {
            let pat = LikePattern::new(&p);
            let chars: Vec<char> = s.chars().collect();
            prop_assert_eq!(pat.matches(&s), reference(&pat.pieces, &chars));
        }
    }
}
