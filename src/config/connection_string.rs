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
        }
    }
}

/// Parses a connection string into its recognised settings, in order; a later
/// duplicate replaces an earlier one. Unknown keys are an error so that a typo
/// is never silently ignored. Error messages never quote values (passwords).
pub fn parse_connection_string(text: &str) -> Result<Vec<(ConnectionStringKey, String)>, ConfigError> {
    let chars: Vec<char> = text.chars().collect();
    let mut settings: Vec<(ConnectionStringKey, String)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // Key: up to '='.
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && chars[i] != ';' {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect::<String>().trim().to_string();
        if i >= chars.len() || chars[i] == ';' {
            if !key.is_empty() {
                return Err(ConfigError(format!("connection string entry '{key}' has no '=value'")));
            }
            i += 1;
            continue;
        }
        i += 1; // '='
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let value = match chars.get(i) {
            Some('{') => {
                let (value, next) = read_enclosed(&chars, i, '}', &key)?;
                i = next;
                value
            }
            Some(&quote @ ('"' | '\'')) => {
                let (value, next) = read_enclosed(&chars, i, quote, &key)?;
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
                return Err(ConfigError(format!("unexpected text after the value of '{key}'")));
            }
            i += 1;
        }
        i += 1;
        if key.is_empty() {
            return Err(ConfigError("connection string entry without a key".into()));
        }
        match ConnectionStringKey::from_name(&key) {
            Some(Some(known)) => {
                settings.retain(|(k, _)| *k != known);
                settings.push((known, value));
            }
            Some(None) => {}
            None => return Err(ConfigError(format!("unsupported connection string keyword '{key}'"))),
        }
    }
    Ok(settings)
}

/// Reads a value enclosed by `open..close` starting at `start`; a doubled
/// `close` stands for one literal `close`. Returns the value and the index
/// after the closing character.
fn read_enclosed(chars: &[char], start: usize, close: char, key: &str) -> Result<(String, usize), ConfigError> {
    let mut value = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == close {
            if chars.get(i + 1) == Some(&close) {
                value.push(close);
                i += 2;
                continue;
            }
            return Ok((value, i + 1));
        }
        value.push(chars[i]);
        i += 1;
    }
    Err(ConfigError(format!("unterminated value of '{key}' in the connection string")))
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
    fn bad_strings_fail_without_echoing_values() {
        let err = parse_connection_string("Password={secret").unwrap_err();
        assert!(!err.0.contains("secret"));
        assert!(parse_connection_string("Sever=x").is_err());
        assert!(parse_connection_string("Server").is_err());
        assert!(parse_connection_string("Password={a}b").is_err());
    }

    #[test]
    fn later_duplicates_win_and_harmless_keys_are_accepted() {
        let parsed = parse_connection_string("Server=a;Server=b;MultipleActiveResultSets=False").unwrap();
        assert_eq!(parsed, vec![(Server, "b".to_string())]);
    }
}
