//! One SASL exchange, whatever the mechanism: the tokens to send and what to make of the
//! server's answers. The connection's handshake carries them; this file decides them.

use super::scram::{Scram, ScramHash};
use super::settings::{Mechanism, Sasl};

/// PLAIN's only token (RFC 4616): no authorization id, the user name and the password.
fn plain_token(username: &str, password: &str) -> Vec<u8> {
    let mut t = Vec::with_capacity(username.len() + password.len() + 2);
    t.push(0);
    t.extend_from_slice(username.as_bytes());
    t.push(0);
    t.extend_from_slice(password.as_bytes());
    t
}

/// One SASL exchange, mechanism by mechanism: tokens out, server answers in.
pub(crate) enum Exchange {
    Plain { sent: bool },
    Scram(Box<Scram>),
}

impl Exchange {
    pub(crate) fn new(sasl: &Sasl) -> Self {
        let scram = |hash| {
            Exchange::Scram(Box::new(Scram::new(
                hash,
                sasl.username(),
                sasl.password(),
                Scram::random_nonce(),
            )))
        };
        match sasl.mechanism() {
            Mechanism::Plain => Exchange::Plain { sent: false },
            Mechanism::ScramSha256 => scram(ScramHash::Sha256),
            Mechanism::ScramSha512 => scram(ScramHash::Sha512),
        }
    }

    pub(crate) fn first(&mut self, sasl: &Sasl) -> Vec<u8> {
        match self {
            Exchange::Plain { sent } => {
                *sent = true;
                plain_token(sasl.username(), sasl.password())
            }
            Exchange::Scram(s) => s.client_first(),
        }
    }

    /// The next token to send after the server's `answer`, or `None` when authenticated.
    pub(crate) fn next(&mut self, answer: &[u8]) -> Result<Option<Vec<u8>>, String> {
        match self {
            Exchange::Plain { .. } => Ok(None),
            Exchange::Scram(s) if s.server_signature.is_none() => s.client_final(answer).map(Some),
            Exchange::Scram(s) => s.verify_server_final(answer).map(|()| None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_token_is_authzid_user_password() {
        assert_eq!(plain_token("u", "p"), b"\0u\0p");
        let sasl = Sasl::new(Mechanism::Plain, "alice", "s3cret");
        let mut x = Exchange::new(&sasl);
        assert_eq!(x.first(&sasl), b"\0alice\0s3cret");
        assert_eq!(x.next(b"").unwrap(), None);
    }
}
