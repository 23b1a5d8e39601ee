use crate::error::{DriverError, ErrorKind, ServerError};

/// Classifies a tiberius error; `Server` errors keep every detail.
pub(crate) fn from_tiberius(error: tiberius::error::Error) -> DriverError {
    use tiberius::error::Error;
    match error {
        Error::Server(token) => DriverError::from_server(ServerError {
            is_error: true,
            number: token.code(),
            state: token.state(),
            severity: token.class(),
            server: token.server().to_string(),
            procedure: token.procedure().to_string(),
            line: token.line(),
            message: token.message().to_string(),
        }),
        Error::Io { kind, message } if closed_by_peer(kind, &message) => DriverError::operational(format!(
            "the server closed the connection in the middle of a response ({message})"
        )),
        Error::Io { message, .. } => DriverError::operational(format!("I/O error: {message}")),
        Error::Tls(message) => {
            // tiberius appends advice naming its own Config methods; give ours.
            let cause = message.split(". To connect anyway").next().unwrap_or(&message);
            let advice = if cause.contains("certificate") {
                "; to validate against a private CA pass SslConfig(ca_certificate_path=...), \
                 or set TrustServerCertificate=yes to accept any certificate"
            } else {
                ""
            };
            DriverError::operational(format!("TLS error: {cause}{advice}"))
        }
        Error::Routing { host, port } => {
            DriverError::operational(format!("server redirected the connection to {host},{port}"))
        }
        Error::Protocol(message) => DriverError::operational(format!("protocol error: {message}")),
        Error::Conversion(message) => DriverError::data(format!("conversion error: {message}")),
        Error::Encoding(message) => DriverError::data(format!("encoding error: {message}")),
        Error::Utf8 | Error::Utf16 => DriverError::data("invalid text encoding in a value from the server"),
        Error::ParseInt(e) => DriverError::data(format!("invalid integer: {e}")),
        Error::BulkInput(message) => DriverError::interface(format!("bulk input error: {message}")),
    }
}

/// An I/O error meaning the other end hung up: the socket reported it, or the
/// framing found the stream ending inside a packet ("bytes remaining on stream").
fn closed_by_peer(kind: std::io::ErrorKind, message: &str) -> bool {
    use std::io::ErrorKind;
    matches!(
        kind,
        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    ) || message.contains("bytes remaining on stream")
}

/// Whether the connection must be discarded after this error: anything but
/// an error the server reported with a severity that keeps the session alive.
pub(crate) fn breaks_connection(error: &DriverError) -> bool {
    match &error.server {
        Some(server) => server.severity >= 20,
        None => error.kind != ErrorKind::Data && error.kind != ErrorKind::NotSupported,
    }
}
