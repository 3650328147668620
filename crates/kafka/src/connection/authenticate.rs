//! SASL over a connection whose ApiVersions exchange is done: SaslHandshake v1 names the
//! mechanism, then SaslAuthenticate round trips carry the tokens `crate::sasl` decides. Kafka's
//! older raw framing (SaslHandshake v0, brokers before 1.0) is refused with a clear error.
//! Every failure is [`Error::Auth`], naming the broker and the mechanism, never a credential.
//!
//! A broker with `connections.max.reauth.ms` (KIP-368) gives the session a lifetime in the last
//! SaslAuthenticate answer and closes the connection at the first request after it ends; the
//! lifetime is returned so that the connection is replaced before then (see
//! [`Connection::needs_renewal`]).

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;

use super::messenger::Connection;
use crate::error::{Error, KafkaCode, ResponseError, Result};
use crate::sasl::{printable, Exchange, Sasl};

/// Authenticates `conn` (whose ApiVersions exchange is done): SaslHandshake v1, then the
/// mechanism's tokens in SaslAuthenticate requests. Returns the session's lifetime when the
/// broker gives one.
pub(super) async fn authenticate(conn: &Connection, sasl: &Sasl) -> Result<Option<Duration>> {
    let fail = |message: String| Error::Auth {
        broker: conn.broker().to_owned(),
        mechanism: sasl.mechanism().name().to_owned(),
        message,
    };
    let version = conn.version_for(ApiKey::SaslHandshake).map_err(|_| {
        fail("the broker offers no SaslHandshake: is this listener a SASL one? (security.protocol may be wrong)".into())
    })?;
    if version < 1 {
        return Err(fail(
            "the broker only speaks SaslHandshake v0 (Kafka before 1.0), whose raw token framing is not supported".into(),
        ));
    }
    conn.version_for(ApiKey::SaslAuthenticate)
        .map_err(|_| fail("the broker offers no SaslAuthenticate".into()))?;
    let req = SaslHandshakeRequest::default()
        .with_mechanism(StrBytes::from_static_str(sasl.mechanism().name()));
    let (resp, _) = conn.send(&req).await?;
    if resp.error_code != 0 {
        let enabled: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
        let code = KafkaCode {
            code: resp.error_code,
            message: None,
        };
        return Err(fail(
            if resp.error_code == ResponseError::UnsupportedSaslMechanism.code() {
                format!(
                    "the broker does not enable this mechanism (it enables: {})",
                    printable(&enabled.join(", "))
                )
            } else {
                format!("SaslHandshake: {} ({})", code.name(), code.code)
            },
        ));
    }
    let mut exchange = Exchange::new(sasl);
    let mut token = exchange.first(sasl);
    loop {
        let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token));
        let (resp, _) = conn.send(&req).await?;
        if resp.error_code != 0 {
            let code = KafkaCode {
                code: resp.error_code,
                message: None,
            };
            let said = resp
                .error_message
                .as_ref()
                .map(|m| format!(": {}", printable(m)))
                .unwrap_or_default();
            return Err(fail(format!("{} ({}){said}", code.name(), code.code)));
        }
        let lifetime = u64::try_from(resp.session_lifetime_ms)
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis);
        let answer = resp.auth_bytes;
        // SCRAM's key derivation (PBKDF2) is CPU work: off the async workers.
        let (back, next) = tokio::task::spawn_blocking(move || {
            let next = exchange.next(&answer);
            (exchange, next)
        })
        .await
        .map_err(|e| fail(format!("the exchange's task failed: {e}")))?;
        exchange = back;
        match next.map_err(fail)? {
            Some(t) => token = t,
            None => return Ok(lifetime),
        }
    }
}
