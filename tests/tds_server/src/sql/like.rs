//! LIKE pattern matching as SQL Server does it under a case-insensitive collation:
//! `%` any run of characters, `_` one character, `[abc]`, `[a-f]` and `[^abc]` one character of
//! (or not of) a set, and an optional ESCAPE character that makes the next one literal.

/// One element of a pattern.
#[derive(Debug, PartialEq)]
enum Element {
    AnyRun,
    AnyOne,
    Literal(char),
    /// The characters and ranges of `[...]`, and whether it is negated (`[^...]`)
    Set(Vec<(char, char)>, bool),
}

fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

fn compile(pattern: &str, escape: Option<char>) -> Vec<Element> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if Some(c) == escape && i < chars.len() {
            out.push(Element::Literal(fold(chars[i])));
            i += 1;
            continue;
        }
        match c {
            '%' => out.push(Element::AnyRun),
            '_' => out.push(Element::AnyOne),
            '[' => match chars[i..].iter().position(|&x| x == ']') {
                // an unclosed '[' matches nothing, as in SQL Server
                None => out.push(Element::Set(Vec::new(), false)),
                Some(len) => {
                    let body = &chars[i..i + len];
                    i += len + 1;
                    let (negated, body) = match body.split_first() {
                        Some(('^', rest)) if !rest.is_empty() => (true, rest),
                        _ => (false, body),
                    };
                    let mut ranges = Vec::new();
                    let mut j = 0;
                    while j < body.len() {
                        if j + 2 < body.len() && body[j + 1] == '-' {
                            ranges.push((fold(body[j]), fold(body[j + 2])));
                            j += 3;
                        } else {
                            ranges.push((fold(body[j]), fold(body[j])));
                            j += 1;
                        }
                    }
                    out.push(Element::Set(ranges, negated));
                }
            },
            other => out.push(Element::Literal(fold(other))),
        }
    }
    out
}

/// Whether `text` matches `pattern`.
pub fn matches(text: &str, pattern: &str, escape: Option<char>) -> bool {
    let elements = compile(pattern, escape);
    let text: Vec<char> = text.chars().map(fold).collect();
    // positions of the text reachable after each element (a set of states, no backtracking blowup)
    let mut reachable = vec![false; text.len() + 1];
    reachable[0] = true;
    for element in &elements {
        let mut next = vec![false; text.len() + 1];
        for pos in 0..=text.len() {
            if !reachable[pos] {
                continue;
            }
            match element {
                Element::AnyRun => next[pos..].iter_mut().for_each(|r| *r = true),
                _ if pos == text.len() => {}
                Element::AnyOne => next[pos + 1] = true,
                Element::Literal(c) => next[pos + 1] |= text[pos] == *c,
                Element::Set(ranges, negated) => {
                    let inside = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&text[pos]));
                    next[pos + 1] |= inside != *negated;
                }
            }
        }
        reachable = next;
    }
    reachable[text.len()]
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards_sets_and_escapes() {
        assert!(matches("Hello", "h%", None));
        assert!(matches("Hello", "%LL%", None));
        assert!(!matches("Hello", "h_llo_", None));
        assert!(matches("Hello", "h_llo", None));
        assert!(matches("bat", "[bc]at", None));
        assert!(!matches("rat", "[bc]at", None));
        assert!(matches("rat", "[^bc]at", None));
        assert!(matches("d", "[a-f]", None));
        assert!(matches("50%", "50!%", Some('!')));
        assert!(!matches("500", "50!%", Some('!')));
        assert!(matches("a_b", "a[_]b", None));
        assert!(matches("", "%", None));
    }
}
