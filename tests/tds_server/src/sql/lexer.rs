//! Tokens of T-SQL text.

#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    /// Identifier or keyword as written (brackets/quotes removed for `quoted`).
    Ident {
        text: String,
        quoted: bool,
    },
    /// `@name` (text includes the '@')
    Variable(String),
    /// `@@name` (text without the '@@', upper-cased)
    SystemVariable(String),
    /// Integer digits
    Integer(String),
    /// Digits with a decimal point, no exponent
    Decimal(String),
    /// A number with an exponent
    Float(String),
    /// `$12.50`, sign handled by the parser
    Money(String),
    /// 'text'
    Str(String),
    /// N'text'
    NStr(String),
    /// 0x0A1B
    Binary(Vec<u8>),
    Punct(char),
}

impl Token {
    /// The token as SQL Server quotes it in "Incorrect syntax near '...'".
    pub fn display(&self) -> String {
        match self {
            Token::Ident { text, .. } => text.clone(),
            Token::Variable(v) => v.clone(),
            Token::SystemVariable(v) => format!("@@{v}"),
            Token::Integer(t) | Token::Decimal(t) | Token::Float(t) => t.clone(),
            Token::Money(t) => format!("${t}"),
            Token::Str(s) | Token::NStr(s) => s.clone(),
            Token::Binary(b) => format!("0x{}", b.iter().map(|x| format!("{x:02X}")).collect::<String>()),
            Token::Punct(c) => c.to_string(),
        }
    }

    /// True for an unquoted identifier equal (case-insensitively) to `kw`.
    pub fn is_keyword(&self, kw: &str) -> bool {
        matches!(self, Token::Ident { text, quoted: false } if text.eq_ignore_ascii_case(kw))
    }
}

/// A lexing failure with SQL Server's message number and the (1-based) line it is on.
#[derive(Debug, PartialEq)]
pub struct LexError {
    pub number: i32,
    pub text: String,
    pub line: u32,
}

/// A token with the (1-based) line it starts on and its byte range in the text.
#[derive(Clone, Debug, PartialEq)]
pub struct Lexed {
    pub token: Token,
    pub line: u32,
    pub span: std::ops::Range<usize>,
}

/// The tokens of `sql`, each with the (1-based) line it starts on.
pub fn tokenize(sql: &str) -> Result<Vec<(Token, u32)>, LexError> {
    Ok(tokenize_spans(sql)?.into_iter().map(|l| (l.token, l.line)).collect())
}

/// The tokens of `sql` with their lines and byte ranges.
pub fn tokenize_spans(sql: &str) -> Result<Vec<Lexed>, LexError> {
    let chars: Vec<char> = sql.chars().collect();
    // byte offset of each char, and of the end
    let offsets: Vec<usize> = sql.char_indices().map(|(i, _)| i).chain(std::iter::once(sql.len())).collect();
    let mut i = 0;
    let mut line = 1;
    let mut out = Vec::new();
    let mut lexed = Vec::new();
    while i < chars.len() {
        let start = i;
        let before = out.len();
        lex_at(&chars, &mut i, &mut out).map_err(|e| LexError { line, ..e })?;
        if out.len() > before {
            let token = out.pop().expect("just lexed");
            lexed.push(Lexed { token, line, span: offsets[start]..offsets[i] });
        }
        line += chars[start..i].iter().filter(|c| **c == '\n').count() as u32;
    }
    Ok(lexed)
}

/// Lexes what starts at `*pos` (whitespace, a comment or one token), advancing `*pos`.
fn lex_at(chars: &[char], pos: &mut usize, out: &mut Vec<Token>) -> Result<(), LexError> {
    let mut i = *pos;
    {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i = skip_block_comment(chars, i)?;
        } else if (c == 'N' || c == 'n') && chars.get(i + 1) == Some(&'\'') {
            let (s, next) = quoted(chars, i + 1, '\'')?;
            out.push(Token::NStr(s));
            i = next;
        } else if c == '\'' {
            let (s, next) = quoted(chars, i, '\'')?;
            out.push(Token::Str(s));
            i = next;
        } else if c == '[' {
            let (s, next) = quoted(chars, i, ']')?;
            out.push(Token::Ident { text: s, quoted: true });
            i = next;
        } else if c == '"' {
            let (s, next) = quoted(chars, i, '"')?;
            out.push(Token::Ident { text: s, quoted: true });
            i = next;
        } else if c == '0' && matches!(chars.get(i + 1), Some('x') | Some('X')) {
            let start = i + 2;
            let mut j = start;
            while j < chars.len() && chars[j].is_ascii_hexdigit() {
                j += 1;
            }
            let mut hex: String = chars[start..j].iter().collect();
            if hex.len() % 2 == 1 {
                hex.insert(0, '0'); // SQL Server pads an odd digit count on the left
            }
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|k| u8::from_str_radix(&hex[k..k + 2], 16).expect("hex digits"))
                .collect();
            out.push(Token::Binary(bytes));
            i = j;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let (tok, next) = number(chars, i);
            out.push(tok);
            i = next;
        } else if c == '$' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit() || *d == '.') {
            let (tok, next) = number(chars, i + 1);
            match tok {
                Token::Integer(t) | Token::Decimal(t) => out.push(Token::Money(t)),
                _ => {
                    return Err(LexError {
                        number: 102,
                        text: format!("Incorrect syntax near '{}'.", tok.display()),
                        line: 0,
                    })
                }
            }
            i = next;
        } else if c == '@' {
            let system = chars.get(i + 1) == Some(&'@');
            let start = if system { i + 2 } else { i + 1 };
            let mut j = start;
            while j < chars.len() && is_ident_char(chars[j]) {
                j += 1;
            }
            let name: String = chars[start..j].iter().collect();
            out.push(if system {
                Token::SystemVariable(name.to_ascii_uppercase())
            } else {
                Token::Variable(format!("@{name}"))
            });
            i = j;
        } else if c.is_alphabetic() || c == '_' || c == '#' {
            let mut j = i;
            while j < chars.len() && is_ident_char(chars[j]) {
                j += 1;
            }
            out.push(Token::Ident { text: chars[i..j].iter().collect(), quoted: false });
            i = j;
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    *pos = i;
    Ok(())
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | '#' | '$')
}

fn skip_block_comment(chars: &[char], start: usize) -> Result<usize, LexError> {
    // Block comments nest in T-SQL.
    let mut depth = 0;
    let mut i = start;
    while i + 1 < chars.len() {
        if chars[i] == '/' && chars[i + 1] == '*' {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars[i + 1] == '/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Ok(i);
            }
        } else {
            i += 1;
        }
    }
    Err(LexError { number: 113, text: "Missing end comment mark '*/'.".into(), line: 0 })
}

/// Reads a quoted run starting at the opening quote; a doubled closing quote escapes it.
fn quoted(chars: &[char], open: usize, close: char) -> Result<(String, usize), LexError> {
    let mut s = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        if chars[i] == close {
            if chars.get(i + 1) == Some(&close) {
                s.push(close);
                i += 2;
                continue;
            }
            return Ok((s, i + 1));
        }
        s.push(chars[i]);
        i += 1;
    }
    if close == '\'' {
        Err(LexError {
            number: 105,
            text: format!("Unclosed quotation mark after the character string '{s}'."),
            line: 0,
        })
    } else {
        Err(LexError {
            number: 105,
            text: format!("Unclosed quotation mark before the character string '{s}'."),
            line: 0,
        })
    }
}

fn number(chars: &[char], start: usize) -> (Token, usize) {
    let mut i = start;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    let mut decimal = false;
    if i < chars.len() && chars[i] == '.' {
        decimal = true;
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
        let mut j = i + 1;
        if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
            j += 1;
        }
        // T-SQL accepts "1E" as 1E0.
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        return (Token::Float(chars[start..j].iter().collect()), j);
    }
    let text: String = chars[start..i].iter().collect();
    (if decimal { Token::Decimal(text) } else { Token::Integer(text) }, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_literals_and_names() {
        let lexed =
            tokenize("SELECT N'a''b', 'x', 0x0aB, 1.5E308, 12.50, 7, [my col], @P1, @@version -- c\n/* x /* y */ */;")
                .unwrap();
        let (t, lines): (Vec<Token>, Vec<u32>) = lexed.into_iter().unzip();
        assert_eq!(lines.last(), Some(&2));
        assert!(lines[..lines.len() - 1].iter().all(|l| *l == 1));
        assert_eq!(
            t,
            vec![
                Token::Ident { text: "SELECT".into(), quoted: false },
                Token::NStr("a'b".into()),
                Token::Punct(','),
                Token::Str("x".into()),
                Token::Punct(','),
                Token::Binary(vec![0x00, 0xAB]),
                Token::Punct(','),
                Token::Float("1.5E308".into()),
                Token::Punct(','),
                Token::Decimal("12.50".into()),
                Token::Punct(','),
                Token::Integer("7".into()),
                Token::Punct(','),
                Token::Ident { text: "my col".into(), quoted: true },
                Token::Punct(','),
                Token::Variable("@P1".into()),
                Token::Punct(','),
                Token::SystemVariable("VERSION".into()),
                Token::Punct(';'),
            ]
        );
    }

    #[test]
    fn unclosed_string_is_error_105() {
        let e = tokenize("SELECT 1\n\nSELECT 'abc\n").unwrap_err();
        assert_eq!((e.number, e.line), (105, 3));
    }
}
