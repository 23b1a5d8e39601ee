//! ADO.NET connection strings: `key=value` pairs separated by `;`, values
//! optionally in braces (`{a;b}}c}` is `a;b}c`) or quotes.

use super::ConfigError;

/// The settings a connection string can carry, synonyms folded together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStringKey {
    Server,
    Database,
    User,
    Password,
    Encrypt,
    TrustServerCertificate,
    ApplicationName,
    ConnectTimeout,
    ApplicationIntent,
    PacketSize,
    ConnectRetryCount,
    ConnectRetryInterval,
}

impl ConnectionStringKey {
    fn from_name(name: &str) -> Option<Option<Self>> {
        let folded: String = name.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
        let key = match folded.as_str() {
            "server" | "datasource" | "address" | "addr" | "networkaddress" => Self::Server,
            "database" | "initialcatalog" => Self::Database,
            "userid" | "uid" | "user" | "username" => Self::User,
            "password" | "pwd" => Self::Password,
            "encrypt" => Self::Encrypt,
            "trustservercertificate" => Self::TrustServerCertificate,
            "applicationname" | "app" => Self::ApplicationName,
            "connecttimeout" | "connectiontimeout" | "timeout" => Self::ConnectTimeout,
            "applicationintent" => Self::ApplicationIntent,
            "packetsize" => Self::PacketSize,
            "connectretrycount" => Self::ConnectRetryCount,
            "connectretryinterval" => Self::ConnectRetryInterval,
            // Accepted for compatibility with strings written for other
            // drivers; they change nothing here.
            "persistsecurityinfo" | "multipleactiveresultsets" | "pooling" | "driver" => return Some(None),
            _ => return None,
        };
        Some(Some(key))
    }

    /// The name used in error messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Server => "Server",
            Self::Database => "Database",
            Self::User => "User Id",
            Self::Password => "Password",
            Self::Encrypt => "Encrypt",
            Self::TrustServerCertificate => "TrustServerCertificate",
            Self::ApplicationName => "Application Name",
            Self::ConnectTimeout => "Connect Timeout",
            Self::ApplicationIntent => "ApplicationIntent",
            Self::PacketSize => "Packet Size",
            Self::ConnectRetryCount => "ConnectRetryCount",
            Self::ConnectRetryInterval => "ConnectRetryInterval",
        }
    }
}

/// Parses a connection string into its recognised settings, in order; a later
/// duplicate replaces an earlier one. Unknown keys are an error so that a typo
/// is never silently ignored. Error messages quote no text of the string: an
/// unbraced ';' in a password makes the rest of it look like the next entry,
/// so an entry is named by its position and the last recognised key before it.
pub fn parse_connection_string(text: &str) -> Result<Vec<(ConnectionStringKey, String)>, ConfigError> {
    let chars: Vec<char> = text.chars().collect();
    let mut settings: Vec<(ConnectionStringKey, String)> = Vec::new();
    let mut previous: Option<ConnectionStringKey> = None;
    let mut entry = 0;
    let mut i = 0;
    while i < chars.len() {
        entry += 1;
        let place = || entry_place(entry, previous);
        // Key: up to '='.
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && chars[i] != ';' {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect::<String>().trim().to_string();
        if i >= chars.len() || chars[i] == ';' {
            if !key.is_empty() {
                return Err(ConfigError(format!("{} has no '=value'{BRACES_HINT}", place())));
            }
            i += 1;
            continue;
        }
        if key.is_empty() {
            return Err(ConfigError(format!("{} has no key", place())));
        }
        let Some(known) = ConnectionStringKey::from_name(&key) else {
            return Err(ConfigError(format!(
                "{} is not a supported connection string keyword (supported: {SUPPORTED}){BRACES_HINT}",
                place()
            )));
        };
        let name = known.map_or("an ignored keyword", ConnectionStringKey::display_name);
        i += 1; // '='
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let value = match chars.get(i) {
            Some(&close @ ('{' | '"' | '\'')) => {
                let close = if close == '{' { '}' } else { close };
                let (value, next) = read_enclosed(&chars, i, close)
                    .ok_or_else(|| ConfigError(format!("the value of {name} is not terminated by {close}")))?;
                i = next;
                value
            }
            _ => {
                let start = i;
                while i < chars.len() && chars[i] != ';' {
                    i += 1;
                }
                chars[start..i].iter().collect::<String>().trim().to_string()
            }
        };
        // After a value only whitespace may precede the next ';'.
        while i < chars.len() && chars[i] != ';' {
            if !chars[i].is_whitespace() {
                return Err(ConfigError(format!("unexpected text after the value of {name}")));
            }
            i += 1;
        }
        i += 1;
        if let Some(known) = known {
            settings.retain(|(k, _)| *k != known);
            settings.push((known, value));
            previous = Some(known);
        }
    }
    Ok(settings)
}

/// Appended to errors an unbraced ';' inside a value causes.
const BRACES_HINT: &str = "; a value containing ';' must be enclosed in braces, e.g. Password={a;b}";

const SUPPORTED: &str = "Server, Database, User Id, Password, Encrypt, TrustServerCertificate, Application Name, \
                         Connect Timeout, ApplicationIntent, Packet Size";

/// "entry 3 of the connection string (after Password)".
fn entry_place(entry: usize, previous: Option<ConnectionStringKey>) -> String {
    match previous {
        Some(key) => format!("entry {entry} of the connection string (after {})", key.display_name()),
        None => format!("entry {entry} of the connection string"),
    }
}

/// Reads a value enclosed by `open..close` starting at `start`; a doubled
/// `close` stands for one literal `close`. Returns the value and the index
/// after the closing character; `None` when it is never closed.
fn read_enclosed(chars: &[char], start: usize, close: char) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == close {
            if chars.get(i + 1) == Some(&close) {
                value.push(close);
                i += 2;
                continue;
            }
            return Some((value, i + 1));
        }
        value.push(chars[i]);
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionStringKey::*;

    #[test]
    fn synonyms_and_spacing_are_folded() {
        let parsed = parse_connection_string(
            "Data Source=tcp:db,1433; Initial Catalog = sales;UID=app;PWD=s3cret;Encrypt=yes;App=x;",
        )
        .unwrap();
        assert_eq!(
            parsed,
            vec![
                (Server, "tcp:db,1433".to_string()),
                (Database, "sales".to_string()),
                (User, "app".to_string()),
                (Password, "s3cret".to_string()),
                (Encrypt, "yes".to_string()),
                (ApplicationName, "x".to_string()),
            ]
        );
    }

    #[test]
    fn braced_and_quoted_values_keep_separators_and_escapes() {
        let parsed = parse_connection_string("Password={a;b}}c};User Id='o''neil';Database=\"x;y\"").unwrap();
        assert_eq!(parsed[0], (Password, "a;b}c".to_string()));
        assert_eq!(parsed[1], (User, "o'neil".to_string()));
        assert_eq!(parsed[2], (Database, "x;y".to_string()));
    }

    #[test]
    fn bad_strings_fail_without_echoing_any_of_their_text() {
        for (text, expected) in [
            ("Password={secret", "the value of Password is not terminated by }"),
            ("Server=h;Password=sec;ret=x", "entry 3 of the connection string (after Password) is not a supported"),
            (
                "Server=h;Password=sec;ret;Database=d",
                "entry 3 of the connection string (after Password) has no '=value'",
            ),
            ("Password={sec}ret", "unexpected text after the value of Password"),
            ("Password=a;User Id=sec;ret", "entry 3 of the connection string (after User Id) has no '=value'"),
            ("secret", "entry 1 of the connection string has no '=value'"),
            ("=secret", "entry 1 of the connection string has no key"),
        ] {
            let err = parse_connection_string(text).unwrap_err().0;
            assert!(err.starts_with(expected), "{text}: {err}");
            assert!(!err.contains("sec") && !err.contains("ret"), "{text}: {err}");
        }
    }

    #[test]
    fn random_strings_never_panic_and_never_echo_an_unknown_key() {
        // A fixed-seed xorshift, so a failure reproduces.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: Vec<char> = "=;{}'\" Pasword=SrvZ\u{e9}\u{1F600}".chars().collect();
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let marked = format!("Server=h;Password=Zq{text}");
            if let Err(err) = parse_connection_string(&marked) {
                assert!(!err.0.contains("Zq") && !err.0.contains('\u{1F600}'), "{marked:?}: {}", err.0);
            }
        }
    }

    #[test]
    fn later_duplicates_win_and_harmless_keys_are_accepted() {
        let parsed = parse_connection_string("Server=a;Server=b;MultipleActiveResultSets=False").unwrap();
        assert_eq!(parsed, vec![(Server, "b".to_string())]);
    }
}
