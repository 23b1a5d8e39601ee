//! Rewrites `@variable` references in T-SQL text, skipping string literals,
//! quoted identifiers and comments. Used to bind `@name` parameters to the
//! positional `@P1..@Pn` names the driver declares, and to give forced-type
//! parameters their exact type.

/// Positional name (without `@`) under which the value at `index` is sent.
pub fn positional_name(index: usize) -> String {
    format!("P{}", index + 1)
}

/// Replaces every `@from` (case-insensitive, names given without `@`) with
/// the replacement text. Other variables (`DECLARE @x`, `@@ROWCOUNT`) are
/// left alone.
pub fn rename_variables(sql: &str, renames: &[(String, String)]) -> String {
    let lowered: Vec<String> = renames.iter().map(|(from, _)| from.to_lowercase()).collect();
    rewrite(sql, |mark| match mark {
        Mark::Variable(word) => {
            let word = word.to_lowercase();
            lowered.iter().position(|n| *n == word).map(|index| renames[index].1.clone())
        }
        Mark::Question => None,
    })
}

/// The `?` placeholders of DB-API's qmark style as `@P1..@Pn`, in order; the
/// number of placeholders.
pub fn qmarks_to_positional(sql: &str) -> (String, usize) {
    let mut count = 0;
    let text = rewrite(sql, |mark| match mark {
        Mark::Question => {
            count += 1;
            Some(format!("@{}", positional_name(count - 1)))
        }
        Mark::Variable(_) => None,
    });
    (text, count)
}

/// What [`rewrite`] offers to replace.
enum Mark<'a> {
    /// `@name` (without the `@`), never `@@name`.
    Variable(&'a str),
    /// A `?`.
    Question,
}

/// Copies `sql`, offering each variable and `?` outside string literals,
/// quoted identifiers and comments to `replace`.
fn rewrite(sql: &str, mut replace: impl FnMut(Mark<'_>) -> Option<String>) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let end = quoted_end(&chars, i, close);
                out.extend(&chars[i..end]);
                i = end;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                let end = chars[i..].iter().position(|&ch| ch == '\n').map_or(chars.len(), |p| i + p);
                out.extend(&chars[i..end]);
                i = end;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let end = block_comment_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
            }
            '@' if chars.get(i + 1) == Some(&'@') => {
                let end = word_end(&chars, i + 2);
                out.extend(&chars[i..end]);
                i = end;
            }
            '@' => {
                let end = word_end(&chars, i + 1);
                let word: String = chars[i + 1..end].iter().collect();
                match replace(Mark::Variable(&word)) {
                    Some(replacement) if end > i + 1 => out.push_str(&replacement),
                    _ => out.extend(&chars[i..end]),
                }
                i = end;
            }
            '?' => {
                match replace(Mark::Question) {
                    Some(replacement) => out.push_str(&replacement),
                    None => out.push(c),
                }
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '#' | '$' | '@')
}

fn word_end(chars: &[char], start: usize) -> usize {
    chars[start..].iter().position(|&c| !is_word_char(c)).map_or(chars.len(), |p| start + p)
}

/// End (exclusive) of a literal opened at `start`; a doubled closing
/// character is an escaped one.
fn quoted_end(chars: &[char], start: usize, close: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == close {
            if chars.get(i + 1) == Some(&close) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// End (exclusive) of a `/* */` comment opened at `start`; they nest in T-SQL.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_marks_become_positional_outside_literals_and_comments() {
        let (sql, count) = qmarks_to_positional("SELECT ?, '?', [a?], N'x?' -- ?\n, ? /* ? */ WHERE a = ?");
        assert_eq!(sql, "SELECT @P1, '?', [a?], N'x?' -- ?\n, @P2 /* ? */ WHERE a = @P3");
        assert_eq!(count, 3);
        assert_eq!(qmarks_to_positional("SELECT @a"), ("SELECT @a".to_string(), 0));
    }

    fn names(list: &[&str]) -> Vec<(String, String)> {
        list.iter().enumerate().map(|(i, s)| (s.to_string(), format!("@{}", positional_name(i)))).collect()
    }

    #[test]
    fn named_references_become_positional() {
        let sql = rename_variables("SELECT @id, @Name, @id + 1", &names(&["name", "id"]));
        assert_eq!(sql, "SELECT @P2, @P1, @P2 + 1");
    }

    #[test]
    fn literals_comments_globals_and_unknown_variables_are_untouched() {
        let sql = "SELECT '@id''s', [@id], \"@id\", @@ROWCOUNT, @other -- @id\n/* @id /* @id */ */ @id";
        let out = rename_variables(sql, &names(&["id"]));
        assert_eq!(out, "SELECT '@id''s', [@id], \"@id\", @@ROWCOUNT, @other -- @id\n/* @id /* @id */ */ @P1");
    }

    #[test]
    fn a_longer_name_is_not_matched_by_its_prefix() {
        assert_eq!(rename_variables("SELECT @idx, @id", &names(&["id"])), "SELECT @idx, @P1");
    }
}
